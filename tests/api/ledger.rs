use tsunagi_tests::{tests, Server};

tests!(placeholder_ledger);

async fn placeholder_ledger(_srv: &Server) {}
