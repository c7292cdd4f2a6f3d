//! Embedded, versioned price table and the cost of a usage record.
