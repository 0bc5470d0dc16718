//! Country of phone numbers from E.164 metadata.

use safeguard_geo::{CountryCode, E164Phone, PhoneError};

fn cc(text: &str) -> CountryCode {
    CountryCode::parse(text).expect("test literal")
}

#[test]
fn international_numbers_give_their_country() {
    // Fictional numbers: ranges regulators reserve for drama where they exist (Ofcom
    // 020 7946 0xxx, NANP 555-01xx), otherwise well-formed numbers of no one in particular.
    for (number, country, code) in [
        ("+44 20 7946 0958", "GB", 44),
        ("+1 202-555-0123", "US", 1),
        ("+1 416 555 0199", "CA", 1),
        ("+49 30 901820", "DE", 49),
        ("+33 1 99 00 00 00", "FR", 33),
        ("+61 2 9374 4000", "AU", 61),
        ("tel:+81-3-1234-5678", "JP", 81),
    ] {
        let phone = E164Phone::parse(number).expect(number);
        assert_eq!(phone.country(), Some(cc(country)), "{number}");
        assert_eq!(phone.calling_code(), code, "{number}");
        assert!(phone.e164().starts_with('+'));
    }
}

#[test]
fn national_form_needs_a_region() {
    assert_eq!(
        E164Phone::parse("020 7946 0958"),
        Err(PhoneError::NoCountry)
    );
    assert_eq!(
        E164Phone::parse("0044 20 7946 0958"),
        Err(PhoneError::NoCountry)
    );
    let phone = E164Phone::parse_with_region("020 7946 0958", cc("GB")).expect("UK national");
    assert_eq!(phone.country(), Some(cc("GB")));
    assert_eq!(phone.e164(), "+442079460958");
}

#[test]
fn non_geographic_numbers_have_no_country() {
    // +800 universal international freephone.
    let phone = E164Phone::parse("+800 1234 5678").expect("valid UIFN");
    assert_eq!(phone.country(), None);
    assert_eq!(phone.calling_code(), 800);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for text in [
        "",
        "+",
        "+abc",
        "+44",
        "+99999999999999999999",
        "+44 20 7946 0958 ".repeat(9).as_str(),
    ] {
        assert!(E164Phone::parse(text).is_err(), "{text:?}");
    }
    assert!(matches!(
        E164Phone::parse_with_region("1234", cc("QQ")),
        Err(PhoneError::UnknownRegion(_))
    ));
}

#[test]
fn random_phone_like_text_never_panics() {
    // Deterministic xorshift over a phone-ish alphabet, including non-ASCII digits and
    // RFC 3966 syntax, to shake the parser.
    const ALPHABET: &[&str] = &[
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", " ", "-", "(", ")", ".", "x", "ext",
        "tel:", ";", "=", "#", "*", "１", "٣", "a", "Z", "/", "+44", "+1", "00", "\u{200b}",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for _ in 0..3000 {
        // Start from a valid number or nothing, then insert, replace or delete a few pieces.
        const SEEDS: &[&str] = &["+44 20 7946 0958", "020 7946 0958", "+1 416 555 0199", ""];
        let mut pieces: Vec<String> = SEEDS[(next() % SEEDS.len() as u64) as usize]
            .chars()
            .map(String::from)
            .collect();
        for _ in 0..next() % 4 {
            let piece = ALPHABET[(next() % ALPHABET.len() as u64) as usize].to_string();
            let at = (next() % (pieces.len() as u64 + 1)) as usize;
            match next() % 3 {
                0 => pieces.insert(at, piece),
                1 if at < pieces.len() => pieces[at] = piece,
                _ if at < pieces.len() => {
                    pieces.remove(at);
                }
                _ => pieces.push(piece),
            }
        }
        let text: String = pieces.concat();
        let results = [
            E164Phone::parse(&text),
            E164Phone::parse_with_region(&text, cc("GB")),
        ];
        // Whatever parses round-trips through its E.164 form to the same number and country.
        for phone in results.into_iter().flatten() {
            parsed += 1;
            let again = E164Phone::parse(&phone.e164()).expect("E.164 form parses");
            assert_eq!(again.e164(), phone.e164(), "{text:?}");
            assert_eq!(again.country(), phone.country(), "{text:?}");
        }
    }
    assert!(parsed > 0, "the alphabet should produce some valid numbers");
}
