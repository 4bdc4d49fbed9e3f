//! The `.npy` header dictionary: a tiny parser for the Python literals NumPy writes
//! (dicts, tuples, lists, quoted strings, integers with an optional Python 2 `L`, `True`,
//! `False`, `None`). Nesting is capped so that a corrupt header cannot exhaust the stack.

/// Deepest nesting of tuples/lists/dicts accepted in a header (NumPy writes at most 3).
const MAX_DEPTH: usize = 16;

/// A Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    /// Tuple (false) or list (true).
    Seq(Vec<Lit>, bool),
    Dict(Vec<(Lit, Lit)>),
}

/// Recursive-descent parser over the header text.
pub(super) struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            s: text.as_bytes(),
            text,
            i: 0,
            depth: 0,
        }
    }

    /// One value followed only by whitespace.
    pub(super) fn document(mut self) -> Option<Lit> {
        let v = self.value()?;
        self.ws();
        (self.i == self.s.len()).then_some(v)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Option<Lit> {
        self.ws();
        match self.peek()? {
            b'{' => self.nested(|p| p.dict()),
            b'(' => self.nested(|p| p.seq(b')', false)),
            b'[' => self.nested(|p| p.seq(b']', true)),
            q @ (b'\'' | b'"') => self.string(q),
            b'0'..=b'9' | b'-' | b'+' => self.int(),
            _ => self.ident(),
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Option<Lit>) -> Option<Lit> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        self.i += 1; // the opening bracket
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn dict(&mut self) -> Option<Lit> {
        let mut entries = Vec::new();
        loop {
            self.ws();
            if self.peek()? == b'}' {
                self.i += 1;
                return Some(Lit::Dict(entries));
            }
            let k = self.value()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            let v = self.value()?;
            entries.push((k, v));
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }

    fn seq(&mut self, close: u8, list: bool) -> Option<Lit> {
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.peek()? == close {
                self.i += 1;
                return Some(Lit::Seq(items, list));
            }
            items.push(self.value()?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {}
                _ => return None,
            }
        }
    }

    fn string(&mut self, quote: u8) -> Option<Lit> {
        self.i += 1;
        let mut out = String::new();
        let mut start = self.i;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c == quote {
                out.push_str(self.text.get(start..self.i)?);
                self.i += 1;
                return Some(Lit::Str(out));
            }
            if c == b'\\' {
                // Keep the escaped byte literally (NumPy's descrs never need more).
                out.push_str(self.text.get(start..self.i)?);
                self.i += 1;
                start = self.i;
                if self.i < self.s.len() {
                    self.i += 1;
                }
                continue;
            }
            self.i += 1;
        }
        None
    }

    fn int(&mut self) -> Option<Lit> {
        let neg = match self.peek()? {
            b'-' => {
                self.i += 1;
                true
            }
            b'+' => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let start = self.i;
        let mut v: i128 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v.checked_mul(10)?.checked_add((c - b'0') as i128)?;
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        // Python 2 longs: "100L".
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.i += 1;
        }
        Some(Lit::Int(if neg { -v } else { v }))
    }

    fn ident(&mut self) -> Option<Lit> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"True" => Some(Lit::Bool(true)),
            b"False" => Some(Lit::Bool(false)),
            b"None" => Some(Lit::None),
            _ => None,
        }
    }
}
