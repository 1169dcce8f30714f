//! Progress of the planner's WAL scans (`plan_with_progress`,
//! `find_with_progress`, `restore_with_progress`): one call of the caller's
//! callback as the reader enters each file, and the stop it may ask for.

use crate::error::Error;
use std::ops::ControlFlow;

/// Reports a WAL scan to a `(done, total)` callback, once per file entered.
pub(crate) struct FileProgress<'a> {
    progress: &'a dyn Fn(u64, u64) -> ControlFlow<()>,
    total: u64,
    reported: Option<usize>,
}

impl<'a> FileProgress<'a> {
    /// For a scan of `total` files at most.
    pub(crate) fn new(progress: &'a dyn Fn(u64, u64) -> ControlFlow<()>, total: u64) -> Self {
        FileProgress { progress, total, reported: None }
    }

    /// Called before each record with the reader's `current_file()`: calls
    /// back `(index + 1, total)` when the file changed; [`Error::Cancelled`]
    /// when the callback returns `Break`.
    pub(crate) fn step(&mut self, current: Option<usize>) -> Result<(), Error> {
        if current == self.reported {
            return Ok(());
        }
        self.reported = current;
        let Some(i) = current else { return Ok(()) };
        let done = i as u64 + 1;
        match (self.progress)(done, self.total) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled { done, total: self.total }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn one_call_per_file_and_a_stop() {
        let calls = RefCell::new(Vec::new());
        let cb = |d, t| {
            calls.borrow_mut().push((d, t));
            if d == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        };
        let mut p = FileProgress::new(&cb, 4);
        for current in [None, Some(0), Some(0), Some(1), Some(1), None] {
            p.step(current).unwrap();
        }
        assert_eq!(*calls.borrow(), [(1, 4), (2, 4)]);
        let e = p.step(Some(2)).unwrap_err();
        assert!(matches!(e, Error::Cancelled { done: 3, total: 4 }), "{e}");
    }
}
