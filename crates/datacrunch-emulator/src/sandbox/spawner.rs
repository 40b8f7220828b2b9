//! [`Spawners`]: long-lived threads that start node helpers a few at a time.
//!
//! Starting a process returns only once the child has exec'd, which on a busy machine
//! waits for the scheduler; thirty nodes started one after the other would wait thirty
//! times in a row. The threads must outlive their nodes: `setpriv --pdeathsig` fires
//! when the *thread* that spawned a helper ends, so the pool lives as long as the
//! supervisor and is dropped only after every node has been stopped.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Job = (Command, Sender<io::Result<Child>>);

/// How many helpers start at once: enough to overlap their exec waits, few enough not
/// to swamp a small machine.
const THREADS: usize = 4;

#[derive(Debug)]
pub struct Spawners {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Spawners {
    pub fn new() -> io::Result<Spawners> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = (0..THREADS)
            .map(|n| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("datacrunch-node-spawner-{n}"))
                    .spawn(move || serve(&queue))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Spawners {
            jobs: Some(jobs),
            threads,
        })
    }

    /// Starts every command; the results in the same order.
    pub fn spawn_all(&self, commands: Vec<Command>) -> Vec<io::Result<Child>> {
        let replies: Vec<Receiver<io::Result<Child>>> = commands
            .into_iter()
            .map(|command| {
                let (reply, result) = mpsc::channel();
                let sent = self
                    .jobs
                    .as_ref()
                    .is_some_and(|jobs| jobs.send((command, reply)).is_ok());
                if !sent {
                    tracing::error!("the node spawner threads are gone");
                }
                result
            })
            .collect();
        replies
            .into_iter()
            .map(|result| {
                result
                    .recv()
                    .unwrap_or_else(|_| Err(io::Error::other("the node spawner thread ended")))
            })
            .collect()
    }
}

fn serve(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((mut command, reply)) = job else {
            return;
        };
        let _ = reply.send(command.spawn());
    }
}

impl Drop for Spawners {
    fn drop(&mut self) {
        drop(self.jobs.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
