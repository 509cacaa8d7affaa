//! `string.format`: C `printf` conversions as Lua 5.4 applies them, written from the C standard's
//! description (no crate does Lua's variant faithfully): `%d %i %u %c %x %X %o %e %E %f %F %g
//! %G %a %A %q %s %%`, flags `-+ #0`, width and precision up to 99.

/// One parsed conversion: `%[flags][width][.precision]conv`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Spec {
    pub left: bool,
    pub plus: bool,
    pub space: bool,
    pub alt: bool,
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
    pub conv: u8,
}

/// Parses the conversion starting after a `%` in `fmt[at..]`; returns it and the index after it.
pub(crate) fn parse_spec(fmt: &[u8], mut at: usize) -> Result<(Spec, usize), String> {
    let start = at;
    let mut spec = Spec::default();
    while let Some(&c) = fmt.get(at) {
        match c {
            b'-' => spec.left = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            b'0' => spec.zero = true,
            _ => break,
        }
        at += 1;
    }
    let digits = |at: &mut usize| -> Result<Option<usize>, String> {
        let from = *at;
        while fmt.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        if *at - from > 2 {
            return Err("invalid conversion (width or precision over 99)".into());
        }
        Ok(std::str::from_utf8(&fmt[from..*at])
            .ok()
            .and_then(|d| d.parse().ok()))
    };
    spec.width = digits(&mut at)?.unwrap_or(0);
    if fmt.get(at) == Some(&b'.') {
        at += 1;
        spec.precision = Some(digits(&mut at)?.unwrap_or(0));
    }
    let Some(&conv) = fmt.get(at) else {
        return Err("invalid conversion at the end of the format".into());
    };
    if at - start > 32 {
        return Err("invalid conversion (format too long)".into());
    }
    spec.conv = conv;
    Ok((spec, at + 1))
}

/// Pads `body` (after its `prefix`: sign, `0x`) to the width.
pub(crate) fn pad(spec: &Spec, prefix: &str, body: &str, numeric: bool) -> String {
    let len = prefix.chars().count() + body.chars().count();
    if len >= spec.width {
        return format!("{prefix}{body}");
    }
    let fill = spec.width - len;
    if spec.left {
        format!("{prefix}{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        format!("{prefix}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{prefix}{body}", " ".repeat(fill))
    }
}

fn sign(spec: &Spec, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// `%d %i`.
pub(crate) fn int(spec: &Spec, v: i64) -> String {
    let mut digits = v.unsigned_abs().to_string();
    if let Some(p) = spec.precision {
        if p == 0 && v == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let zero_ok = spec.precision.is_none();
    pad(
        &Spec {
            zero: spec.zero && zero_ok,
            ..*spec
        },
        sign(spec, v < 0),
        &digits,
        true,
    )
}

/// `%u %x %X %o`: the integer's two's-complement bits as an unsigned number.
pub(crate) fn unsigned(spec: &Spec, v: i64) -> String {
    let u = v as u64;
    let mut digits = match spec.conv {
        b'x' => format!("{u:x}"),
        b'X' => format!("{u:X}"),
        b'o' => format!("{u:o}"),
        _ => u.to_string(),
    };
    if let Some(p) = spec.precision {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match spec.conv {
        b'x' if spec.alt && u != 0 => "0x",
        b'X' if spec.alt && u != 0 => "0X",
        b'o' if spec.alt && !digits.starts_with('0') => "0",
        _ => "",
    };
    pad(
        &Spec {
            zero: spec.zero && spec.precision.is_none(),
            ..*spec
        },
        prefix,
        &digits,
        true,
    )
}

/// `%e %E %f %F %g %G %a %A`.
pub(crate) fn float(spec: &Spec, v: f64) -> String {
    let negative = v.is_sign_negative() && !v.is_nan();
    let upper = spec.conv.is_ascii_uppercase();
    if !v.is_finite() {
        let body = if v.is_nan() { "nan" } else { "inf" };
        let body = if upper {
            body.to_uppercase()
        } else {
            body.to_owned()
        };
        return pad(spec, sign(spec, negative), &body, false);
    }
    let a = v.abs();
    let mut body = match spec.conv.to_ascii_lowercase() {
        b'f' => {
            let s = format!("{:.*}", spec.precision.unwrap_or(6), a);
            if spec.alt && !s.contains('.') {
                s + "."
            } else {
                s
            }
        }
        b'e' => e_format(a, spec.precision.unwrap_or(6), spec.alt),
        b'g' => g_format(a, spec.precision.unwrap_or(6), spec.alt, true),
        _ => hex_float(a, spec.precision),
    };
    if upper {
        body = body.to_uppercase();
    }
    let (prefix, body) = if spec.conv.eq_ignore_ascii_case(&b'a') {
        let (p, b) = body.split_at(2);
        (format!("{}{p}", sign(spec, negative)), b.to_owned())
    } else {
        (sign(spec, negative).to_owned(), body)
    };
    pad(spec, &prefix, &body, true)
}

/// `%.{prec}e` of a non-negative finite number, C style (`1.500000e+02`).
pub(crate) fn e_format(a: f64, prec: usize, alt: bool) -> String {
    let s = format!("{a:.prec$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mantissa = if alt && !mantissa.contains('.') {
        format!("{mantissa}.")
    } else {
        mantissa.to_owned()
    };
    format!(
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// `%.{prec}g` of a non-negative finite number (`strip`: drop trailing zeros unless `alt`).
pub(crate) fn g_format(a: f64, prec: usize, alt: bool, _c_style: bool) -> String {
    let p = prec.max(1);
    if a == 0.0 {
        return if alt {
            format!("0.{}", "0".repeat(p - 1))
        } else {
            "0".to_owned()
        };
    }
    // The exponent %e would use at this precision (after rounding).
    let e = format!("{a:.*e}", p - 1);
    let x: i32 = e
        .split_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    let mut s = if x < -4 || x >= p as i32 {
        e_format(a, p - 1, alt)
    } else {
        format!("{a:.*}", (p as i32 - 1 - x).max(0) as usize)
    };
    if !alt {
        // Strip trailing zeros of the fraction (and the point), keeping any exponent.
        let (mant, exp) = match s.find('e') {
            Some(i) => (s[..i].to_owned(), s[i..].to_owned()),
            None => (s.clone(), String::new()),
        };
        let mant = if mant.contains('.') {
            mant.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            mant
        };
        s = mant + &exp;
    } else if !s.contains('.') {
        if let Some(i) = s.find('e') {
            s.insert(i, '.');
        } else {
            s.push('.');
        }
    }
    s
}

/// `%a` of a non-negative finite number: `0x1.8p+1`; with a precision, rounded (half to even)
/// to that many hex digits.
pub(crate) fn hex_float(a: f64, precision: Option<usize>) -> String {
    if a == 0.0 {
        return match precision {
            Some(p) if p > 0 => format!("0x0.{}p+0", "0".repeat(p)),
            _ => "0x0p+0".to_owned(),
        };
    }
    let bits = a.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    let (mut lead, exp) = if raw_exp == 0 {
        (0u64, -1022)
    } else {
        (1u64, raw_exp - 1023)
    };
    let mut digits = 13usize;
    if let Some(p) = precision {
        if p < 13 {
            let drop = (13 - p) * 4;
            let half = 1u64 << (drop - 1);
            let rest = mant & ((1u64 << drop) - 1);
            mant >>= drop;
            if rest > half || (rest == half && mant & 1 == 1) {
                mant += 1;
                if mant >> (p * 4) != 0 {
                    mant &= (1u64 << (p * 4)) - 1;
                    lead += 1;
                }
            }
            digits = p;
        }
    }
    let mut frac = if digits == 0 {
        String::new()
    } else {
        format!("{mant:0digits$x}")
    };
    match precision {
        None => {
            while frac.ends_with('0') {
                frac.pop();
            }
        }
        Some(p) => {
            while frac.len() < p {
                frac.push('0');
            }
        }
    }
    let point = if frac.is_empty() { "" } else { "." };
    format!(
        "0x{lead}{point}{frac}p{}{}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// `%q` of a string: a Lua literal that reads back as the same bytes (Lua 5.4's rules: `"`,
/// `\\` and newline escaped with a backslash, other control characters as decimal escapes, bytes
/// above 127 as they are).
pub(crate) fn quote(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' | b'\\' | b'\n' => {
                out.push(b'\\');
                out.push(b);
            }
            c if c.is_ascii_control() => {
                let escaped = if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    format!("\\{c:03}")
                } else {
                    format!("\\{c}")
                };
                out.extend_from_slice(escaped.as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, v: f64) -> String {
        let (spec, _) = parse_spec(fmt.as_bytes(), 1).unwrap();
        float(&spec, v)
    }

    fn i(fmt: &str, v: i64) -> String {
        let (spec, _) = parse_spec(fmt.as_bytes(), 1).unwrap();
        match spec.conv {
            b'd' | b'i' => int(&spec, v),
            _ => unsigned(&spec, v),
        }
    }

    #[test]
    fn floats_match_c() {
        assert_eq!(f("%f", 1.23456), "1.234560");
        assert_eq!(f("%.2f", 2.675), "2.67"); // 2.675 is 2.67499999…
        assert_eq!(f("%10.3f", -1.5), "    -1.500");
        assert_eq!(f("%-10.1f|", 1.25), "1.2       ");
        assert_eq!(f("%+.0f", 2.5), "+2");
        assert_eq!(f("%e", 12345.678), "1.234568e+04");
        assert_eq!(f("%.2E", 0.000123), "1.23E-04");
        assert_eq!(f("%g", 100000.0), "100000");
        assert_eq!(f("%g", 1000000.0), "1e+06");
        assert_eq!(f("%g", 0.0001), "0.0001");
        assert_eq!(f("%g", 0.00001), "1e-05");
        assert_eq!(f("%.14g", 0.1), "0.1");
        assert_eq!(f("%#g", 1.0), "1.00000");
        assert_eq!(f("%G", 1e-10), "1E-10");
        assert_eq!(f("%08.3f", -1.23456), "-001.235");
        assert_eq!(f("%f", f64::INFINITY), "inf");
        assert_eq!(f("%5.1f", f64::NAN), "  nan");
        assert_eq!(f("%a", 1.0), "0x1p+0");
        assert_eq!(f("%a", 3.0), "0x1.8p+1");
        assert_eq!(f("%.1a", 1.0 / 3.0), "0x1.5p-2");
        assert_eq!(f("%A", 0.5), "0X1P-1");
        assert_eq!(f("%a", 0.0), "0x0p+0");
        assert_eq!(f("%a", -2.0), "-0x1p+1");
    }

    #[test]
    fn integers_match_c() {
        assert_eq!(i("%d", 42), "42");
        assert_eq!(i("%5d", -42), "  -42");
        assert_eq!(i("%-5d|", 42), "42   ");
        assert_eq!(i("%05d", -42), "-0042");
        assert_eq!(i("%+d", 0), "+0");
        assert_eq!(i("%.3d", 7), "007");
        assert_eq!(i("%x", 255), "ff");
        assert_eq!(i("%#X", 255), "0XFF");
        assert_eq!(i("%#o", 8), "010");
        assert_eq!(i("%x", -1), "ffffffffffffffff");
        assert_eq!(i("%u", -1), "18446744073709551615");
        assert_eq!(i("%d", i64::MIN), "-9223372036854775808");
    }

    #[test]
    fn quoting_reads_back() {
        assert_eq!(quote(b"a\"b\\c\nd"), b"\"a\\\"b\\\\c\\\nd\"");
        assert_eq!(quote(b"\x001"), b"\"\\0001\"");
        assert_eq!(quote(b"\x01x\xff\r"), b"\"\\1x\xff\\13\"");
    }

    #[test]
    fn bad_specs_are_errors() {
        assert!(parse_spec(b"%100d", 1).is_err());
        assert!(parse_spec(b"%", 1).is_err());
        assert!(parse_spec(b"%.123f", 1).is_err());
    }
}
