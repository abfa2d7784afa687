//! Small helpers over byte slices, shared by the protocol modules.

use std::ops::Range;

/// Where `part` lies inside `outer`, as a range of `outer`'s indices, or
/// `None` when it does not lie wholly inside it (a slice of other
/// memory). Lets a parser's output, borrowed from its input, be turned
/// back into positions in that input without copying or re-checking it.
pub(crate) fn range_within(outer: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= outer.len()).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_inside_and_outside() {
        let outer = b"0123456789";
        assert_eq!(range_within(outer, &outer[2..5]), Some(2..5));
        assert_eq!(range_within(outer, &outer[..]), Some(0..10));
        assert_eq!(range_within(&outer[3..], &outer[..5]), None);
        assert_eq!(range_within(&outer[..5], &outer[3..]), None);
        assert_eq!(range_within(outer, b"23"), None);
    }
}
