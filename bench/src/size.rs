//! Key group sizes: t of n.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub t: u16,
    pub n: u16,
}

impl Size {
    pub const fn new(t: u16, n: u16) -> Self {
        Self { t, n }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-of-{}", self.t, self.n)
    }
}

/// The sizes the issue names, smallest first.
pub const SIZES: [Size; 4] = [
    Size::new(2, 3),
    Size::new(3, 5),
    Size::new(7, 10),
    Size::new(67, 100),
];

/// The ceremony every throughput figure uses.
pub const THREE_OF_FIVE: Size = Size::new(3, 5);
