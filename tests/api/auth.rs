use tsunagi_tests::{tests, Server};

tests!(placeholder_auth);

async fn placeholder_auth(_srv: &Server) {}
