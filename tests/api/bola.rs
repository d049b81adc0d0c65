use tsunagi_tests::{tests, Server};

tests!(placeholder_bola);

async fn placeholder_bola(_srv: &Server) {}
