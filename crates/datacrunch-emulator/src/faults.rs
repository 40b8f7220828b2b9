//! Fault injection: per-endpoint rates of 429 (with `Retry-After`), 500 and 503 (with
//! `Retry-After` when configured) answers, dropped connections, lost answers (the
//! request takes effect, then the connection is reset), token revocation, and added
//! latency. One seeded RNG decides, so a test that makes the same calls sees the same
//! faults.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// The endpoint key that applies to every endpoint without a rule of its own.
pub const ANY_ENDPOINT: &str = "*";

/// Fault rates (0.0 to 1.0) and latency for one endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// Share of requests answered 429 `too_many_requests` with `Retry-After`.
    pub rate_429: f64,
    /// Share answered 500 `server_error`.
    pub rate_500: f64,
    /// Share answered 503 `service_unavailable`.
    pub rate_503: f64,
    /// Share whose connection is closed without any answer, before the request is
    /// handled (nothing changes).
    pub drop_rate: f64,
    /// Share handled in full (a create creates, a delete deletes) whose answer is then
    /// lost: the connection is reset instead. Proves that a client which retries or
    /// looks up after an unknown outcome never duplicates.
    pub lost_answer_rate: f64,
    /// Share whose bearer token is revoked before the request is handled (it then
    /// gets 401, as does every later request with that token).
    pub revoke_rate: f64,
    /// Delay added before handling each request.
    pub latency_ms: u64,
    /// The `Retry-After` seconds of 429 answers (default 1).
    pub retry_after_secs: Option<u64>,
    /// The `Retry-After` seconds of injected 503 answers (default: no header).
    pub retry_after_503_secs: Option<u64>,
}

/// The names of the rates, for messages.
const RATE_NAMES: &str = "rate_429 + rate_500 + rate_503 + drop_rate + lost_answer_rate";

impl FaultRule {
    /// Checks that every rate is a probability.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("rate_429", self.rate_429),
            ("rate_500", self.rate_500),
            ("rate_503", self.rate_503),
            ("drop_rate", self.drop_rate),
            ("lost_answer_rate", self.lost_answer_rate),
            ("revoke_rate", self.revoke_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        let sum =
            self.rate_429 + self.rate_500 + self.rate_503 + self.drop_rate + self.lost_answer_rate;
        if sum > 1.0 {
            return Err(format!("{RATE_NAMES} must be at most 1, got {sum}"));
        }
        Ok(())
    }

    /// Parses a CLI spec: `[ENDPOINT@]key=value[,key=value…]`, e.g.
    /// `GET /v1/instances@rate_500=0.1,latency_ms=20` or `rate_429=0.05`.
    pub fn parse_spec(spec: &str) -> Result<(String, FaultRule), String> {
        let (endpoint, settings) = match spec.split_once('@') {
            Some((e, s)) => (e.trim().to_owned(), s),
            None => (ANY_ENDPOINT.to_owned(), spec),
        };
        let mut rule = FaultRule::default();
        for pair in settings.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("fault setting {pair:?} is not key=value"))?;
            let float = || {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("{key} must be a number, got {value:?}"))
            };
            let int = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{key} must be a whole number, got {value:?}"))
            };
            match key.trim() {
                "rate_429" => rule.rate_429 = float()?,
                "rate_500" => rule.rate_500 = float()?,
                "rate_503" => rule.rate_503 = float()?,
                "drop_rate" => rule.drop_rate = float()?,
                "lost_answer_rate" => rule.lost_answer_rate = float()?,
                "revoke_rate" => rule.revoke_rate = float()?,
                "latency_ms" => rule.latency_ms = int()?,
                "retry_after_secs" => rule.retry_after_secs = Some(int()?),
                "retry_after_503_secs" => rule.retry_after_503_secs = Some(int()?),
                other => return Err(format!(
                    "unknown fault setting {other:?}; expected rate_429, rate_500, rate_503, drop_rate, lost_answer_rate, revoke_rate, latency_ms, retry_after_secs or retry_after_503_secs"
                )),
            }
        }
        rule.validate()?;
        Ok((endpoint, rule))
    }
}

/// What to do to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    TooManyRequests {
        retry_after_secs: u64,
    },
    ServerError,
    Unavailable {
        retry_after_secs: Option<u64>,
    },
    /// Close the connection before handling the request.
    Drop,
    /// Handle the request, then reset the connection instead of answering.
    LoseAnswer,
    Revoke,
}

impl Fault {
    /// The name an injected fault is counted under (`None` injects nothing).
    pub fn kind(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::TooManyRequests { .. } => Some("429"),
            Fault::ServerError => Some("500"),
            Fault::Unavailable { .. } => Some("503"),
            Fault::Drop => Some("drop"),
            Fault::LoseAnswer => Some("lost_answer"),
            Fault::Revoke => Some("revoke"),
        }
    }
}

/// The fault rules in force, and the RNG.
#[derive(Debug)]
pub struct Faults {
    rules: RwLock<BTreeMap<String, FaultRule>>,
    rng: Mutex<StdRng>,
    /// How many faults of each kind were injected, so a soak run can report what it
    /// survived.
    injected: Mutex<BTreeMap<&'static str, u64>>,
    /// Fast path: no rules, no RNG lock.
    active: AtomicBool,
}

impl Faults {
    pub fn new(rules: BTreeMap<String, FaultRule>, seed: u64) -> Faults {
        let faults = Faults {
            active: AtomicBool::new(false),
            rules: RwLock::new(BTreeMap::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            injected: Mutex::new(BTreeMap::new()),
        };
        faults.replace(rules);
        faults
    }

    pub fn rules(&self) -> BTreeMap<String, FaultRule> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the rule of one endpoint (`*` for all).
    pub fn set(&self, endpoint: String, rule: FaultRule) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.insert(endpoint, rule);
        self.active.store(true, Ordering::Relaxed);
    }

    /// Replaces every rule (an empty map clears faults).
    pub fn replace(&self, new: BTreeMap<String, FaultRule>) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        self.active.store(!new.is_empty(), Ordering::Relaxed);
        *rules = new;
    }

    /// Reseeds the RNG (admin API), to replay a sequence.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
    }

    /// Whether any rule is set (no rule: no fault, no RNG draw).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// How many faults of each kind (see [`Fault::kind`]) were injected since start.
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Decides the latency and fault for a request to `endpoint` ("GET /v1/instances"),
    /// and counts the fault as injected.
    pub fn decide(&self, endpoint: &str) -> (Duration, Fault) {
        let (latency, fault) = self.draw(endpoint);
        if let Some(kind) = fault.kind() {
            *self
                .injected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(kind)
                .or_default() += 1;
        }
        (latency, fault)
    }

    fn draw(&self, endpoint: &str) -> (Duration, Fault) {
        if !self.active.load(Ordering::Relaxed) {
            return (Duration::ZERO, Fault::None);
        }
        let rule = {
            let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
            match rules.get(endpoint).or_else(|| rules.get(ANY_ENDPOINT)) {
                Some(rule) => rule.clone(),
                None => return (Duration::ZERO, Fault::None),
            }
        };
        let (roll, revoke_roll) = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            (rng.random::<f64>(), rng.random::<f64>())
        };
        let latency = Duration::from_millis(rule.latency_ms);
        let bands = [
            (rule.drop_rate, Fault::Drop),
            (
                rule.rate_429,
                Fault::TooManyRequests {
                    retry_after_secs: rule.retry_after_secs.unwrap_or(1),
                },
            ),
            (rule.rate_500, Fault::ServerError),
            (
                rule.rate_503,
                Fault::Unavailable {
                    retry_after_secs: rule.retry_after_503_secs,
                },
            ),
            // Last, so seeds chosen before it existed still give the same faults.
            (rule.lost_answer_rate, Fault::LoseAnswer),
        ];
        let mut edge = 0.0;
        for (rate, fault) in bands {
            edge += rate;
            if roll < edge {
                return (latency, fault);
            }
        }
        if revoke_roll < rule.revoke_rate {
            return (latency, Fault::Revoke);
        }
        (latency, Fault::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let (e, r) =
            FaultRule::parse_spec("GET /v1/instances@rate_500=0.25,latency_ms=20").unwrap();
        assert_eq!(e, "GET /v1/instances");
        assert_eq!((r.rate_500, r.latency_ms), (0.25, 20));
        let (e, _) = FaultRule::parse_spec("rate_429=1").unwrap();
        assert_eq!(e, "*");
        assert!(FaultRule::parse_spec("rate_429=2")
            .unwrap_err()
            .contains("between 0 and 1"));
        assert!(FaultRule::parse_spec("bogus=1")
            .unwrap_err()
            .contains("unknown fault setting"));
        let (_, r) =
            FaultRule::parse_spec("lost_answer_rate=0.5,rate_503=0.5,retry_after_503_secs=7")
                .unwrap();
        assert_eq!(
            (r.lost_answer_rate, r.rate_503, r.retry_after_503_secs),
            (0.5, 0.5, Some(7))
        );
        assert!(FaultRule::parse_spec("lost_answer_rate=0.6,drop_rate=0.6")
            .unwrap_err()
            .contains("lost_answer_rate must be at most 1"));
    }

    #[test]
    fn lost_answers_and_503_retry_after_are_decided_by_the_rule() {
        let rule = |r: FaultRule| Faults::new([("*".to_owned(), r)].into(), 3);
        let lost = rule(FaultRule {
            lost_answer_rate: 1.0,
            ..Default::default()
        });
        assert_eq!(lost.decide("POST /v1/instances").1, Fault::LoseAnswer);
        let plain_503 = rule(FaultRule {
            rate_503: 1.0,
            ..Default::default()
        });
        assert_eq!(
            plain_503.decide("GET /v1/balance").1,
            Fault::Unavailable {
                retry_after_secs: None
            }
        );
        let told_503 = rule(FaultRule {
            rate_503: 1.0,
            retry_after_503_secs: Some(9),
            ..Default::default()
        });
        assert_eq!(
            told_503.decide("GET /v1/balance").1,
            Fault::Unavailable {
                retry_after_secs: Some(9)
            }
        );
    }

    #[test]
    fn seeded_and_rated() {
        let mut rules = BTreeMap::new();
        rules.insert(
            "*".to_owned(),
            FaultRule {
                rate_500: 0.5,
                ..Default::default()
            },
        );
        let run = || {
            let f = Faults::new(rules.clone(), 7);
            (0..200)
                .map(|_| f.decide("GET /v1/balance").1)
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same faults");
        let errors = a.iter().filter(|f| **f == Fault::ServerError).count();
        assert!((60..140).contains(&errors), "{errors}");
        let always = Faults::new(
            [(
                "GET /x".to_owned(),
                FaultRule {
                    rate_429: 1.0,
                    ..Default::default()
                },
            )]
            .into(),
            1,
        );
        assert_eq!(always.decide("GET /y").1, Fault::None);
        assert!(matches!(
            always.decide("GET /x").1,
            Fault::TooManyRequests {
                retry_after_secs: 1
            }
        ));
    }

    #[test]
    fn injected_faults_are_counted_by_kind() {
        let faults = Faults::new(
            [(
                "*".to_owned(),
                FaultRule {
                    rate_500: 0.4,
                    drop_rate: 0.2,
                    lost_answer_rate: 0.2,
                    ..Default::default()
                },
            )]
            .into(),
            11,
        );
        assert!(faults.injected().is_empty());
        let decided: Vec<Fault> = (0..400).map(|_| faults.decide("GET /x").1).collect();
        let made = |f: Fault| decided.iter().filter(|d| **d == f).count() as u64;
        let counted = faults.injected();
        assert_eq!(counted.get("500").copied(), Some(made(Fault::ServerError)));
        assert_eq!(counted.get("drop").copied(), Some(made(Fault::Drop)));
        assert_eq!(
            counted.get("lost_answer").copied(),
            Some(made(Fault::LoseAnswer))
        );
        assert_eq!(counted.len(), 3, "{counted:?}");
    }
}
