use tsunagi_tests::{tests, Server};

tests!(placeholder_inputs);

async fn placeholder_inputs(_srv: &Server) {}
