//! `Notices`: warnings a session owes the user, each said once: logged at once, and printed on
//! stderr when gw has the terminal (before the agent starts or after it exits).

use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Notices {
    said: Mutex<Vec<(&'static str, String)>>,
}

impl Notices {
    /// Records a warning under `topic`; a topic already said is ignored. Returns whether it was new.
    pub fn warn(&self, topic: &'static str, message: String) -> bool {
        let mut said = self.said.lock().unwrap();
        if said.iter().any(|(t, _)| *t == topic) {
            return false;
        }
        tracing::warn!(topic, "{message}");
        said.push((topic, message));
        true
    }

    /// Takes the warnings not yet printed.
    pub fn take(&self) -> Vec<String> {
        let mut said = self.said.lock().unwrap();
        said.iter_mut()
            .filter(|(_, m)| !m.is_empty())
            .map(|(_, m)| std::mem::take(m))
            .collect()
    }
}
