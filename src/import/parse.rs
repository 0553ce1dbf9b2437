//! Reading an import file as a stream of resources, each with where it was:
//! FHIR NDJSON line by line, or a JSON Bundle entry by entry. Neither keeps
//! the file's text in memory: NDJSON holds one line at a time, and a Bundle
//! is parsed straight from the reader, each entry handed on as soon as it is
//! read (so only one entry's JSON tree exists at a time).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// Files larger than this are refused before anything is read: a clinic's
/// whole history is far smaller, and the checked resources are held until
/// they are written.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// One NDJSON line (one resource) longer than this is refused; jkda's
/// largest form gives responses of a few tens of KB.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Where a resource was in the file, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum At {
    /// 1-based NDJSON line.
    Line(usize),
    /// 0-based index into `Bundle.entry`, as FHIRPath writes it.
    Entry(usize),
    /// The file as a whole (a Bundle that does not parse).
    File { line: usize, column: usize },
}

/// Why one line or entry could not be read as a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON; the column (in the line, or the file's `At::File`) where it broke.
    NotJson {
        column: usize,
    },
    NotAnObject,
    TooLong,
    NoResource,
    /// A JSON document that is not a Bundle (a lone resource, say).
    NotABundle,
}

/// What the whole file is, judged from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Bundle,
}

/// Ways the file as a whole cannot be read.
#[derive(Debug)]
pub enum FileError {
    Io(std::io::Error),
    TooLarge { bytes: u64 },
}

impl From<std::io::Error> for FileError {
    fn from(e: std::io::Error) -> Self {
        FileError::Io(e)
    }
}

/// Looks at the first line: a Bundle when it is a whole Bundle, the opening
/// brace of a pretty-printed document, or too long to be one resource;
/// NDJSON otherwise (also when it is broken: then line 1 is reported).
pub fn sniff(reader: &mut impl BufRead) -> std::io::Result<Format> {
    let mut first = Vec::new();
    reader
        .by_ref()
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut first)?;
    // A byte-order mark some Windows editors write.
    let text = String::from_utf8_lossy(first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first));
    let line = text.trim();
    if first.len() > MAX_LINE_BYTES || line == "{" {
        return Ok(Format::Bundle);
    }
    Ok(match serde_json::from_str::<Value>(line) {
        Ok(v) if v["resourceType"] == "Bundle" => Format::Bundle,
        Ok(_) => Format::Ndjson,
        // The start of a Bundle written over several lines.
        Err(_) if line.starts_with('{') && line.contains("\"Bundle\"") => Format::Bundle,
        Err(_) => Format::Ndjson,
    })
}

/// Reads `file` and calls `each` with every resource (or why it could not
/// be read) in file order. Returns the format found; a Bundle's structural
/// errors come back as `At::File` through `each`.
pub fn read<F>(file: &mut std::fs::File, mut each: F) -> Result<Format, FileError>
where
    F: FnMut(At, Result<Value, Unreadable>),
{
    let bytes = file.metadata()?.len();
    if bytes > MAX_FILE_BYTES {
        return Err(FileError::TooLarge { bytes });
    }
    file.seek(SeekFrom::Start(0))?;
    let format = {
        let mut r = BufReader::new(&mut *file);
        sniff(&mut r)?
    };
    file.seek(SeekFrom::Start(0))?;
    // Bounded even if the file grows while it is read.
    let capped = BufReader::with_capacity(64 << 10, (&mut *file).take(MAX_FILE_BYTES + 1));
    match format {
        Format::Ndjson => ndjson(capped, &mut each)?,
        Format::Bundle => bundle(capped, &mut each),
    }
    Ok(format)
}

fn ndjson(mut r: impl BufRead, each: &mut impl FnMut(At, Result<Value, Unreadable>)) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        let n = r.by_ref().take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let m = r.by_ref().take(1 << 20).read_until(b'\n', &mut rest)?;
                if m == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
            each(At::Line(line), Err(Unreadable::TooLong));
            continue;
        }
        let mut bytes = if line == 1 {
            buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
        } else {
            &buf[..]
        };
        while let [rest @ .., b'\n' | b'\r'] = bytes {
            bytes = rest;
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(Unreadable::NotAnObject),
            Err(e) => Err(Unreadable::NotJson { column: e.column() }),
        };
        each(At::Line(line), result);
    }
}

fn bundle(r: impl BufRead, each: &mut impl FnMut(At, Result<Value, Unreadable>)) {
    let mut de = serde_json::Deserializer::from_reader(r);
    let mut kind = None;
    let result = de
        .deserialize_map(BundleVisitor {
            each: &mut *each,
            kind: &mut kind,
        })
        .and_then(|()| de.end());
    match result {
        Err(e) => each(
            At::File {
                line: e.line(),
                column: e.column(),
            },
            Err(Unreadable::NotJson { column: e.column() }),
        ),
        Ok(()) if kind.as_deref() != Some("Bundle") => {
            each(At::File { line: 1, column: 1 }, Err(Unreadable::NotABundle))
        }
        Ok(()) => {}
    }
}

struct BundleVisitor<'a, F> {
    each: &'a mut F,
    kind: &'a mut Option<String>,
}

impl<'de, F: FnMut(At, Result<Value, Unreadable>)> Visitor<'de> for BundleVisitor<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a FHIR Bundle")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resourceType" => *self.kind = Some(map.next_value()?),
                "entry" => map.next_value_seed(Entries { each: &mut *self.each })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Entries<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(At, Result<Value, Unreadable>)> DeserializeSeed<'de> for Entries<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(At, Result<Value, Unreadable>)> Visitor<'de> for Entries<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Bundle entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(mut entry) = seq.next_element::<Value>()? {
            let resource = match entry.get_mut("resource").map(Value::take) {
                Some(r) if r.is_object() => Ok(r),
                Some(_) => Err(Unreadable::NotAnObject),
                None => Err(Unreadable::NoResource),
            };
            (self.each)(At::Entry(i), resource);
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    type Read = Vec<(At, Result<Value, Unreadable>)>;

    fn collect(text: &str) -> (Format, Read) {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        let format = read(&mut f, |at, r| out.push((at, r))).unwrap();
        (format, out)
    }

    #[test]
    fn ndjson_lines_keep_their_numbers_and_blank_lines_are_skipped() {
        let (format, items) = collect("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\nnot json\n[1]\n{\"id\":\"b\"}");
        assert_eq!(format, Format::Ndjson);
        let at: Vec<At> = items.iter().map(|(a, _)| *a).collect();
        assert_eq!(at, [At::Line(1), At::Line(3), At::Line(4), At::Line(5)]);
        assert!(items[0].1.is_ok());
        assert_eq!(items[1].1, Err(Unreadable::NotJson { column: 2 }));
        assert_eq!(items[2].1, Err(Unreadable::NotAnObject));
        assert_eq!(items[3].1.as_ref().unwrap()["id"], "b");
    }

    #[test]
    fn bundles_on_one_line_or_pretty_give_their_entries() {
        let b = serde_json::json!({
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": "a"}}, {"fullUrl": "x"}],
            "resourceType": "Bundle",
        });
        for text in [b.to_string(), serde_json::to_string_pretty(&b).unwrap()] {
            let (format, items) = collect(&text);
            assert_eq!(format, Format::Bundle);
            assert_eq!(items.len(), 2, "{items:?}");
            assert_eq!(items[0].0, At::Entry(0));
            assert_eq!(items[0].1.as_ref().unwrap()["id"], "a");
            assert_eq!(items[1], (At::Entry(1), Err(Unreadable::NoResource)));
        }
    }

    #[test]
    fn a_broken_bundle_is_reported_with_its_line() {
        let (format, items) = collect("{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [ {\"resource\": {]\n}");
        assert_eq!(format, Format::Bundle);
        assert!(
            matches!(
                items.last(),
                Some((At::File { line: 3, .. }, Err(Unreadable::NotJson { .. })))
            ),
            "{items:?}"
        );
    }

    #[test]
    fn an_empty_file_is_nothing_to_import() {
        let (format, items) = collect("");
        assert_eq!(format, Format::Ndjson);
        assert!(items.is_empty());
    }
}
