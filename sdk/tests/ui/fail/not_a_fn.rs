#[lambkin::handler]
struct Handler;
