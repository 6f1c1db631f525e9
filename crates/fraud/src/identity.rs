//! Identity links between accounts: a shared device, IP, shipping address, payment fingerprint or
//! phone joins two accounts; the connected components of that graph are the account rings.
//!
//! Identifiers are normalised (so that `12 Main St.` and `12 main st` are one address) and then
//! replaced by a keyed hash ([`Pseudonymiser`]) before anything is kept: the link graph never
//! holds a raw device id, address or phone number.

use std::collections::HashMap;

use discount_core::Pseudonymiser;
use serde::{Deserialize, Serialize};

/// The identifier kinds read from `User.attributes`, by attribute name.
pub const DEFAULT_LINK_ATTRIBUTES: [&str; 5] = ["device", "ip", "address", "payment", "phone"];

/// Puts an identifier in canonical form before hashing: trimmed, lower case, runs of white space
/// collapsed; addresses also lose punctuation; phone numbers keep their digits only.
pub fn normalise(kind: &str, value: &str) -> String {
    match kind {
        "phone" => value.chars().filter(char::is_ascii_digit).collect(),
        "address" => {
            let cleaned: String = value
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() {
                        c.to_lowercase().next().unwrap_or(c)
                    } else {
                        ' '
                    }
                })
                .collect();
            cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
        }
        _ => value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    }
}

/// Disjoint sets over account indices, with path halving and union by size.
#[derive(Clone, Debug, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn grow(&mut self, n: usize) {
        while self.parent.len() < n {
            self.parent.push(self.parent.len() as u32);
            self.size.push(1);
        }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
    }
}

/// Collects the pseudonymised identifiers of every account and links those that share one.
pub struct LinkGraph {
    kinds: Vec<String>,
    pseudonymiser: Pseudonymiser,
    /// Pseudonym (128 bits of the keyed hash, with the kind folded in) -> identifier index.
    index: HashMap<u128, u32>,
    /// Accounts per identifier (counted in [`LinkGraph::rings`]).
    holders: Vec<u32>,
    /// Kind of each identifier.
    kind_of: Vec<u8>,
    /// First account seen with each identifier.
    first: Vec<u32>,
    /// (account, identifier) pairs.
    pairs: Vec<(u32, u32)>,
    sets: UnionFind,
}

impl std::fmt::Debug for LinkGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkGraph")
            .field("kinds", &self.kinds)
            .field("identifiers", &self.holders.len())
            .finish()
    }
}

impl LinkGraph {
    pub fn new(kinds: &[String], pseudonymiser: Pseudonymiser) -> Self {
        Self {
            kinds: kinds.to_vec(),
            pseudonymiser,
            index: HashMap::new(),
            holders: Vec::new(),
            kind_of: Vec::new(),
            first: Vec::new(),
            pairs: Vec::new(),
            sets: UnionFind::default(),
        }
    }

    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// Records that `account` uses `value` as an identifier of kind `kind` (ignored if `kind` is
    /// not a link attribute or the value is empty after normalisation).
    pub fn add(&mut self, account: u32, kind: &str, value: &str) {
        let Some(k) = self.kinds.iter().position(|x| x == kind) else {
            return;
        };
        let canonical = normalise(kind, value);
        if canonical.is_empty() {
            return;
        }
        let pseudonym = self
            .pseudonymiser
            .pseudonym(&format!("{kind}\u{1f}{canonical}"));
        let mut bytes = [0u8; 16];
        // `p_` + 32 hex digits; a malformed pseudonym cannot happen, but stay total.
        if hex::decode_to_slice(&pseudonym[2..], &mut bytes).is_err() {
            return;
        }
        let key = u128::from_le_bytes(bytes);
        self.sets.grow(account as usize + 1);
        let next = self.holders.len() as u32;
        let id = *self.index.entry(key).or_insert(next);
        if id == next {
            self.holders.push(0);
            self.kind_of.push(k as u8);
            self.first.push(account);
        }
        self.pairs.push((account, id));
        let first = self.first[id as usize];
        self.sets.union(first, account);
    }

    /// The rings over `accounts` accounts: each account's component and, per account, which
    /// identifier kinds it shares with at least one other account.
    pub fn rings(mut self, accounts: usize) -> Rings {
        self.sets.grow(accounts);
        let mut component = vec![0u32; accounts];
        let mut sizes: HashMap<u32, u32> = HashMap::new();
        for (a, c) in component.iter_mut().enumerate() {
            *c = self.sets.find(a as u32);
            *sizes.entry(*c).or_insert(0) += 1;
        }
        // An account may be listed twice (a repeated user record): count distinct holders.
        self.pairs.sort_unstable();
        self.pairs.dedup();
        for &(_, id) in &self.pairs {
            self.holders[id as usize] += 1;
        }
        let mut shared_kinds = vec![0u8; accounts];
        for &(account, id) in &self.pairs {
            if self.holders[id as usize] > 1 {
                shared_kinds[account as usize] |= 1 << self.kind_of[id as usize];
            }
        }
        let size = component.iter().map(|c| sizes[c]).collect();
        Rings {
            kinds: self.kinds,
            component,
            size,
            shared_kinds,
        }
    }
}

/// The account rings: connected components of the identity-link graph.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Rings {
    pub kinds: Vec<String>,
    /// Component representative of each account (an account index).
    pub component: Vec<u32>,
    /// Size of each account's component (1 for an unlinked account).
    pub size: Vec<u32>,
    /// Bit `k` set when the account shares an identifier of kind `kinds[k]` with another account.
    pub shared_kinds: Vec<u8>,
}

impl Rings {
    /// Whether the account is linked to at least one other account.
    pub fn in_ring(&self, account: usize) -> bool {
        self.size[account] > 1
    }

    /// Names of the identifier kinds the account shares.
    pub fn shared_kind_names(&self, account: usize) -> Vec<&str> {
        (0..self.kinds.len())
            .filter(|k| self.shared_kinds[account] & (1 << k) != 0)
            .map(|k| self.kinds[k].as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> LinkGraph {
        let kinds: Vec<String> = DEFAULT_LINK_ATTRIBUTES
            .iter()
            .map(|s| s.to_string())
            .collect();
        LinkGraph::new(&kinds, Pseudonymiser::new(b"0123456789abcdef").unwrap())
    }

    #[test]
    fn identifiers_are_normalised() {
        assert_eq!(
            normalise("address", " 12 Main St., Apt #4 "),
            "12 main st apt 4"
        );
        assert_eq!(normalise("phone", "+1 (555) 010-2000"), "15550102000");
        assert_eq!(normalise("device", "  DEV-AbC "), "dev-abc");
    }

    #[test]
    fn shared_identifiers_join_accounts_into_rings() {
        let mut g = graph();
        // 0 and 1 share a device; 1 and 2 share an address written two ways; 3 is alone;
        // 4 has the same value as 0's device but as a phone, which must not link them.
        g.add(0, "device", "D1");
        g.add(1, "device", "d1");
        g.add(1, "address", "12 Main St.");
        g.add(2, "address", "12 main st");
        g.add(3, "device", "D9");
        g.add(4, "phone", "D1");
        g.add(4, "colour", "red");
        let r = g.rings(6);
        assert_eq!(r.component[0], r.component[2]);
        assert_ne!(r.component[0], r.component[3]);
        assert_ne!(r.component[0], r.component[4]);
        assert_eq!(&r.size, &[3, 3, 3, 1, 1, 1]);
        assert_eq!(r.shared_kind_names(1), vec!["device", "address"]);
        assert_eq!(r.shared_kind_names(0), vec!["device"]);
        assert!(r.shared_kind_names(3).is_empty());
        assert!(!r.in_ring(5));
    }

    #[test]
    fn the_graph_holds_no_raw_identifier() {
        let mut g = graph();
        g.add(0, "address", "12 Main Street");
        let text = format!("{g:?} {:?}", g.index.keys().collect::<Vec<_>>());
        assert!(!text.to_lowercase().contains("main"));
    }
}
