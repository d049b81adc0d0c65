//! The process's side of the socket (one per [`AppState`](crate::http::AppState)): the
//! sockets open per account, and the task that wakes subscribers when a write commits in any
//! hub process on the database (`store::wake`).
//!
//! The task starts with the first socket (a hub that never serves one opens no listener and
//! polls nothing) and ends within a second of the state being dropped. It:
//!
//! - on PostgreSQL, LISTENs on `tsunagi_changes` over one connection of its own (a pool of
//!   one, outside the hub's pool, so it never takes a request's connection) and bumps the
//!   wake-up on every notification; a lost connection is opened again (sqlx re-LISTENs),
//!   after a failure at most every [`RECONNECT`], and every reconnect bumps once, since a
//!   notification may have been missed meanwhile;
//! - on every backend, reads the feed's head every [`POLL`] and bumps when it moved: the
//!   fallback that bounds the delay of a lost notification, and on SQLite what finds a write
//!   committed inside a request transaction (an `Idempotency-Key` mutation) or by another
//!   process such as `tsunagi seed`.
//!
//! It also tells the sockets when the process shuts down ([`Hub::shut_down`]): each closes
//! with 1001 (going away); [`Hub::closed`] waits a bounded time for them to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::store::wake;

/// How often the head of the feed is polled.
pub const POLL: Duration = Duration::from_secs(1);
/// The least time between two attempts to open the listening connection.
pub const RECONNECT: Duration = Duration::from_secs(2);
/// The most sockets one account may hold open on one process.
pub const MAX_SOCKETS_PER_ACCOUNT: usize = 8;
/// How long [`Hub::shut_down`] waits for the sockets to close.
pub const CLOSE_WAIT: Duration = Duration::from_secs(4);

pub struct Hub {
    listening: OnceLock<()>,
    sockets: Mutex<HashMap<String, usize>>,
    /// True once the process shuts down; every socket task holds a receiver until it ends.
    stopping: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            listening: OnceLock::new(),
            sockets: Mutex::default(),
            stopping: watch::channel(false).0,
        }
    }
}

/// A socket's seat in its account's count; given back when dropped.
pub struct Seat {
    hub: Arc<Hub>,
    account: String,
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Ok(mut sockets) = self.hub.sockets.lock() {
            if let Some(n) = sockets.get_mut(&self.account) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    sockets.remove(&self.account);
                }
            }
        }
    }
}

impl Hub {
    /// A seat for one more socket of `account`; None when it holds
    /// [`MAX_SOCKETS_PER_ACCOUNT`] already.
    pub fn seat(self: &Arc<Self>, account: &str) -> Option<Seat> {
        let mut sockets = self.sockets.lock().ok()?;
        let n = sockets.entry(account.to_owned()).or_default();
        if *n >= MAX_SOCKETS_PER_ACCOUNT {
            return None;
        }
        *n += 1;
        Some(Seat {
            hub: self.clone(),
            account: account.to_owned(),
        })
    }

    /// Told when the process shuts down; hold it for as long as the socket is open.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Tell every socket the process is shutting down (each closes with 1001); sockets
    /// opened later close at once.
    pub fn shut_down(&self) {
        self.stopping.send_replace(true);
        let open = self.stopping.receiver_count();
        if open > 0 {
            tracing::info!(sockets = open, "closing subscription sockets (1001)");
        }
    }

    /// Once every socket has closed, or after [`CLOSE_WAIT`].
    pub async fn closed(&self) {
        if tokio::time::timeout(CLOSE_WAIT, self.stopping.closed())
            .await
            .is_err()
        {
            let left = self.stopping.receiver_count();
            tracing::warn!(
                sockets = left,
                "subscription sockets still open; exiting anyway"
            );
        }
    }

    /// Start the wake-up task, once.
    pub fn listen(self: &Arc<Self>, db: &DatabaseConnection) {
        self.listening.get_or_init(|| {
            tokio::spawn(wake_up(db.clone(), Arc::downgrade(self)));
        });
    }
}

/// The listening connection: a pool of one of its own, with the hub's connect options.
async fn connect(db: &DatabaseConnection) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options = db.get_postgres_connection_pool().connect_options();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with((*options).clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(wake::CHANNEL).await?;
    Ok(listener)
}

/// The next notification (Ok(None): the connection was lost and opened again); pending
/// forever without a listener.
async fn notified(listener: &mut Option<PgListener>) -> Result<Option<()>, sea_orm::sqlx::Error> {
    match listener {
        Some(l) => Ok(l.try_recv().await?.map(|_| ())),
        None => std::future::pending().await,
    }
}

async fn wake_up(db: DatabaseConnection, hub: Weak<Hub>) {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut listener: Option<PgListener> = None;
    let mut next_connect = Instant::now();
    let mut head: Option<i64> = None;
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while hub.strong_count() > 0 {
        if postgres && listener.is_none() && Instant::now() >= next_connect {
            match connect(&db).await {
                Ok(l) => {
                    listener = Some(l);
                    wake::bump();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change notifications: cannot listen; polling meanwhile");
                    next_connect = Instant::now() + RECONNECT;
                }
            }
        }
        tokio::select! {
            got = notified(&mut listener) => {
                if let Err(e) = got {
                    tracing::warn!(error = %e, "change notifications: the listening connection failed");
                    listener = None;
                    next_connect = Instant::now() + RECONNECT;
                }
                wake::bump();
            }
            _ = poll.tick() => {
                if let Ok(now) = wake::head(&db).await {
                    if head.is_some_and(|h| h != now) {
                        wake::bump();
                    }
                    head = Some(now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_holds_a_bounded_number_of_seats() {
        let hub = Arc::new(Hub::default());
        let seats: Vec<Seat> = (0..MAX_SOCKETS_PER_ACCOUNT)
            .map(|_| hub.seat("a").unwrap())
            .collect();
        assert!(hub.seat("a").is_none());
        assert!(hub.seat("b").is_some());
        drop(seats);
        assert!(hub.seat("a").is_some());
        assert!(!hub.sockets.lock().unwrap().contains_key("b"));
    }

    #[tokio::test]
    async fn shutting_down_tells_the_sockets_and_waits_for_them() {
        let hub = Hub::default();
        let mut socket = hub.stopping();
        let task = tokio::spawn(async move {
            socket.wait_for(|s| *s).await.unwrap();
        });
        hub.shut_down();
        tokio::time::timeout(Duration::from_secs(1), hub.closed())
            .await
            .unwrap();
        task.await.unwrap();
        assert!(*hub.stopping().borrow());
    }
}
