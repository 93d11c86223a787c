//! Unsigned LEB128 and zigzag, the variable-length integers of kiln's compact tables (the
//! trap table and the call-site table in `trap.rs`, the code-entry table in
//! `descriptor.rs`).
//!
//! Readers take the bytes from the front of a slice and return `None` on bytes that end
//! early or encode more than the type holds, so a corrupt table decodes to fewer entries,
//! never to a panic; they allocate nothing, as the signal handler's lookups require.

/// Appends `value` as an unsigned LEB128 (1 byte below 128, at most 10).
pub fn write(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an unsigned LEB128 of at most 10 bytes whose value fits a `u64` from the front of
/// `bytes`, and advances `bytes` past it.
pub fn read(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        let bits = u64::from(byte & 0x7f);
        // The tenth byte holds bit 63 only.
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Reads an unsigned LEB128 whose value fits a `u32` (see [`read`]).
pub fn read_u32(bytes: &mut &[u8]) -> Option<u32> {
    u32::try_from(read(bytes)?).ok()
}

/// `value` zigzag-encoded: small magnitudes of either sign become small unsigned numbers
/// (0, -1, 1, -2 → 0, 1, 2, 3).
pub fn zigzag(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// The inverse of [`zigzag`].
pub fn unzigzag(value: u32) -> i32 {
    (value >> 1) as i32 ^ -((value & 1) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: u64, expected: &[u8]) {
        let mut bytes = Vec::new();
        write(&mut bytes, value);
        assert_eq!(bytes, expected, "{value:#x}");
        let mut rest = &bytes[..];
        assert_eq!(read(&mut rest), Some(value));
        assert!(rest.is_empty());
    }

    #[test]
    fn values_round_trip_in_as_few_bytes_as_they_need() {
        check(0, &[0]);
        check(0x7f, &[0x7f]);
        check(0x80, &[0x80, 0x01]);
        check(624_485, &[0xe5, 0x8e, 0x26]);
        check(u64::from(u32::MAX), &[0xff, 0xff, 0xff, 0xff, 0x0f]);
        check(
            u64::MAX,
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        );
    }

    #[test]
    fn short_over_long_and_too_large_encodings_are_refused() {
        assert_eq!(read(&mut &[][..]), None);
        assert_eq!(read(&mut &[0x80][..]), None, "ends early");
        assert_eq!(read(&mut &[0x80; 11][..]), None, "over 10 bytes");
        let past_u64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read(&mut &past_u64[..]), None);
        assert_eq!(
            read_u32(&mut &[0xff, 0xff, 0xff, 0xff, 0x0f][..]),
            Some(u32::MAX)
        );
        assert_eq!(read_u32(&mut &[0x80, 0x80, 0x80, 0x80, 0x10][..]), None);
        // The reader stops after the value.
        let mut bytes = &[0x05, 0x06][..];
        assert_eq!(read_u32(&mut bytes), Some(5));
        assert_eq!(bytes, [0x06]);
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_numbers() {
        for (value, encoded) in [(0, 0), (-1, 1), (1, 2), (-2, 3), (i32::MAX, u32::MAX - 1)] {
            assert_eq!(zigzag(value), encoded);
            assert_eq!(unzigzag(encoded), value);
        }
        assert_eq!(zigzag(i32::MIN), u32::MAX);
        assert_eq!(unzigzag(u32::MAX), i32::MIN);
    }
}
