struct Order {
    id: u32,
}

#[lambkin::handler]
async fn handle(order: Order) -> Result<u32, lambkin::Error> {
    Ok(order.id)
}
