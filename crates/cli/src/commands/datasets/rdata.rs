//! A reader of R's serialization format, for the subset that the data sets' R data files (`.rda`)
//! use, and a writer of their data frames as the CSV files the tests read.
//!
//! Written by hand: no maintained Rust crate reads R data files, and the subset needed is small.
//! What it reads:
//!
//! - the container: gzip, bzip2 or xz compressed (as `save()` writes them) or not compressed, with
//!   the `RDX2` or `RDX3` header, then a serialization stream in XDR binary format (`X\n`); the
//!   ASCII (`A\n`) and native binary (`B\n`) formats are refused with an error;
//! - stream versions 2 and 3 (version 3 names the writer's native encoding);
//! - the objects: `NULL`, pairlists (`LISTSXP`: the saved objects and attribute lists), symbols and
//!   references to them (`SYMSXP`, `REFSXP`), character vectors (`STRSXP` of `CHARSXP`, with
//!   `NA_character_` and the UTF-8, Latin-1, bytes and ASCII encodings), logical, integer, double,
//!   complex and raw vectors (`NA_integer_`, `NA_real_`), lists (`VECSXP`: data frames and lists
//!   of them) and the attributes of all of them (names, class, levels, `row.names` in its compact
//!   form too); environments, closures, language objects and S4 objects are read past, not kept;
//! - the ALTREP forms of stream version 3: `compact_intseq`, `compact_realseq`, `wrap_*` and
//!   `deferred_string` over integers (and over whole doubles, as R's `as.character` writes them).
//!
//! Errors say what was expected and where (the byte offset in the decompressed stream); nothing
//! read from the input can make it panic or allocate more than the input could hold.
//!
//! [`data_frame_csv`] writes a data frame as the data folders' copies were made (Python `rdata`
//! 1.1.0 and pandas `DataFrame.to_csv(index=False)`): columns in order, row names dropped, `\n`
//! line ends, a field quoted (`"`, doubled inside) only when it holds `,`, `"`, `\n` or `\r`;
//! missing values of every type as an empty field; doubles as Python's `repr` writes them (the
//! shortest digits that read back to the same double, `1.0`, `1e-05`, `1e+16`); integers in
//! decimal; factors as their labels; R `Date` as `YYYY-MM-DD` and `POSIXct` as ISO-8601 in UTC
//! (`2017-01-28T19:06:53Z`, the value as stored, whatever its time zone attribute says).

use std::io::{Read, Write};

/// What went wrong reading an R data file or converting one of its objects.
#[derive(Debug, thiserror::Error)]
pub enum RdataError {
    #[error("not an R data file: {0}")]
    NotRdata(String),
    #[error("decompressing its {codec} stream: {message}")]
    Decompress {
        codec: &'static str,
        message: String,
    },
    #[error("at byte {offset} of the decompressed R data: {message}")]
    Parse { offset: usize, message: String },
    #[error("{0}")]
    Convert(String),
}

type Result<T> = std::result::Result<T, RdataError>;

/// The most a file may decompress to: far more than any data set here, far less than memory.
const MAX_DECOMPRESSED: u64 = 1 << 31;
/// How deeply objects may nest (lists of lists...): a hostile file cannot overflow the stack.
const MAX_DEPTH: usize = 256;
/// The longest compact sequence (ALTREP) expanded: 2^28 elements.
const MAX_SEQUENCE: f64 = 268_435_456.0;

/// One R object: its value and its attributes (by name, in order).
#[derive(Clone, Debug, PartialEq)]
pub struct RObject {
    pub value: RValue,
    pub attributes: Vec<(String, RObject)>,
}

/// The value of an R object, for the types read (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub enum RValue {
    Null,
    Symbol(String),
    /// A pairlist: its elements with their tags.
    Pairlist(Vec<(Option<String>, RObject)>),
    /// `TRUE` 1, `FALSE` 0, `NA` [`NA_INTEGER`].
    Logical(Vec<i32>),
    /// `NA` is [`NA_INTEGER`].
    Integer(Vec<i32>),
    /// `NA` is a NaN.
    Real(Vec<f64>),
    Complex(Vec<[f64; 2]>),
    /// `None` is `NA_character_`.
    Character(Vec<Option<String>>),
    /// A generic vector (`list()`, data frames).
    List(Vec<RObject>),
    Raw(Vec<u8>),
    /// Something read past and not kept (an environment, a closure, a call, an S4 object): what.
    Opaque(&'static str),
}

/// R's `NA_integer_` (and logical `NA`).
pub const NA_INTEGER: i32 = i32::MIN;

impl RObject {
    fn new(value: RValue) -> Self {
        RObject {
            value,
            attributes: Vec::new(),
        }
    }

    /// The attribute `name`, if the object has one.
    pub fn attribute(&self, name: &str) -> Option<&RObject> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Whether `class` is one of the object's classes (its `class` attribute).
    pub fn inherits(&self, class: &str) -> bool {
        match self.attribute("class").map(|c| &c.value) {
            Some(RValue::Character(classes)) => classes.iter().any(|c| c.as_deref() == Some(class)),
            _ => false,
        }
    }

    /// The `names` attribute as strings, if it is a character vector.
    fn names(&self) -> Option<&[Option<String>]> {
        match self.attribute("names").map(|n| &n.value) {
            Some(RValue::Character(names)) => Some(names),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match &self.value {
            RValue::Null => "NULL",
            RValue::Symbol(_) => "a symbol",
            RValue::Pairlist(_) => "a pairlist",
            RValue::Logical(_) => "a logical vector",
            RValue::Integer(_) => "an integer vector",
            RValue::Real(_) => "a double vector",
            RValue::Complex(_) => "a complex vector",
            RValue::Character(_) => "a character vector",
            RValue::List(_) => "a list",
            RValue::Raw(_) => "a raw vector",
            RValue::Opaque(what) => what,
        }
    }
}

/// The bytes of an R data file without their compression (gzip, bzip2, xz or none).
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_limited(flate2::read::MultiGzDecoder::new(bytes), &mut out, "gzip")?;
    } else if bytes.starts_with(b"BZh") {
        read_limited(bzip2::read::MultiBzDecoder::new(bytes), &mut out, "bzip2")?;
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut input = bytes;
        let mut writer = LimitedWriter { out: &mut out };
        lzma_rs::xz_decompress(&mut input, &mut writer).map_err(|e| RdataError::Decompress {
            codec: "xz",
            message: e.to_string(),
        })?;
    } else if bytes.starts_with(b"RD") {
        out.extend_from_slice(bytes);
    } else {
        return Err(RdataError::NotRdata(format!(
            "it is neither gzip, bzip2 nor xz compressed, nor starts with RDX2/RDX3 (its first bytes \
             are {:02x?})",
            &bytes[..bytes.len().min(6)]
        )));
    }
    Ok(out)
}

fn read_limited(reader: impl Read, out: &mut Vec<u8>, codec: &'static str) -> Result<()> {
    reader
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(out)
        .map_err(|e| RdataError::Decompress {
            codec,
            message: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(RdataError::Decompress {
            codec,
            message: format!("it decompresses to more than {MAX_DECOMPRESSED} bytes"),
        });
    }
    Ok(())
}

/// A `Vec` writer that refuses to grow past [`MAX_DECOMPRESSED`].
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if (self.out.len() + buf.len()) as u64 > MAX_DECOMPRESSED {
            return Err(std::io::Error::other(format!(
                "it decompresses to more than {MAX_DECOMPRESSED} bytes"
            )));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The objects an R data file holds, by name, in the order they were saved.
pub fn read_rda(bytes: &[u8]) -> Result<Vec<(String, RObject)>> {
    let data = decompress(bytes)?;
    let magic = data.get(..5).unwrap_or(&data[..]);
    if magic != b"RDX2\n" && magic != b"RDX3\n" {
        return Err(RdataError::NotRdata(format!(
            "its decompressed stream starts with {:?}, not RDX2 or RDX3 (an .rds file, or not R \
             data)",
            String::from_utf8_lossy(magic)
        )));
    }
    let mut reader = Reader {
        data: &data,
        pos: 5,
        refs: Vec::new(),
        depth: 0,
        native_latin1: false,
    };
    match reader.take(2, "the serialization format")? {
        b"X\n" => {}
        b"A\n" => return Err(reader.error_at(5, "the ASCII serialization format is not supported")),
        b"B\n" => {
            return Err(
                reader.error_at(5, "the native binary serialization format is not supported")
            )
        }
        other => {
            return Err(reader.error_at(
                5,
                format!(
                    "unknown serialization format {:?}",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    }
    let version = reader.int("the stream version")?;
    reader.int("the writer's R version")?;
    reader.int("the minimal reader's R version")?;
    match version {
        2 => {}
        3 => {
            let length = reader.int("the length of the native encoding's name")?;
            let length = usize::try_from(length)
                .map_err(|_| reader.error(format!("a negative encoding length {length}")))?;
            let name = reader.take(length, "the native encoding's name")?;
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            reader.native_latin1 = matches!(
                name.as_str(),
                "latin1" | "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "cp1252" | "windows-1252"
            );
        }
        other => {
            return Err(reader.error(format!(
                "stream version {other}; only versions 2 and 3 are known"
            )))
        }
    }
    let top = reader.item()?;
    match top.value {
        RValue::Pairlist(items) => items
            .into_iter()
            .map(|(tag, object)| match tag {
                Some(name) => Ok((name, object)),
                None => Err(RdataError::NotRdata(
                    "a saved object has no name".to_string(),
                )),
            })
            .collect(),
        RValue::Null => Ok(Vec::new()),
        _ => Err(RdataError::NotRdata(format!(
            "it holds {} where the list of saved objects belongs (an .rds file?)",
            top.type_name()
        ))),
    }
}

// SEXP types (R's Rinternals.h) and the serialization's special codes (serialize.c).
const NILSXP: u8 = 0;
const SYMSXP: u8 = 1;
const LISTSXP: u8 = 2;
const CLOSXP: u8 = 3;
const ENVSXP: u8 = 4;
const PROMSXP: u8 = 5;
const LANGSXP: u8 = 6;
const SPECIALSXP: u8 = 7;
const BUILTINSXP: u8 = 8;
const CHARSXP: u8 = 9;
const LGLSXP: u8 = 10;
const INTSXP: u8 = 13;
const REALSXP: u8 = 14;
const CPLXSXP: u8 = 15;
const STRSXP: u8 = 16;
const DOTSXP: u8 = 17;
const VECSXP: u8 = 19;
const EXPRSXP: u8 = 20;
const BCODESXP: u8 = 21;
const EXTPTRSXP: u8 = 22;
const WEAKREFSXP: u8 = 23;
const RAWSXP: u8 = 24;
const S4SXP: u8 = 25;
const ALTREP_SXP: u8 = 238;
const ATTRLISTSXP: u8 = 239;
const ATTRLANGSXP: u8 = 240;
const BASEENV_SXP: u8 = 241;
const EMPTYENV_SXP: u8 = 242;
const GENERICREFSXP: u8 = 245;
const CLASSREFSXP: u8 = 246;
const PERSISTSXP: u8 = 247;
const PACKAGESXP: u8 = 248;
const NAMESPACESXP: u8 = 249;
const BASENAMESPACE_SXP: u8 = 250;
const MISSINGARG_SXP: u8 = 251;
const UNBOUNDVALUE_SXP: u8 = 252;
const GLOBALENV_SXP: u8 = 253;
const NILVALUE_SXP: u8 = 254;
const REFSXP: u8 = 255;

const HAS_ATTR_BIT: u32 = 1 << 9;
const HAS_TAG_BIT: u32 = 1 << 10;
// CHARSXP encodings, in the `levels` bits (flags >> 12).
const BYTES_MASK: u32 = 1 << 1;
const LATIN1_MASK: u32 = 1 << 2;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The reference table: symbols, environments, namespaces, in the order first read.
    refs: Vec<RObject>,
    depth: usize,
    /// Strings in the native encoding are Latin-1 (the writer said so, stream version 3).
    native_latin1: bool,
}

impl<'a> Reader<'a> {
    fn error(&self, message: impl Into<String>) -> RdataError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> RdataError {
        RdataError::Parse {
            offset,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len());
        match end {
            Some(end) => {
                let bytes = &self.data[self.pos..end];
                self.pos = end;
                Ok(bytes)
            }
            None => Err(self.error(format!(
                "the data ends ({} bytes left) where {what} ({n} bytes) was expected",
                self.data.len() - self.pos
            ))),
        }
    }

    fn int(&mut self, what: &str) -> Result<i32> {
        let bytes = self.take(4, what)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn double(&mut self, what: &str) -> Result<f64> {
        let bytes = self.take(8, what)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Ok(f64::from_be_bytes(b))
    }

    /// A vector's length (a long one as two ints), checked against the bytes left: each element
    /// takes at least `min_bytes`.
    fn length(&mut self, min_bytes: usize) -> Result<usize> {
        let at = self.pos;
        let short = self.int("a vector length")?;
        let length = if short == -1 {
            let upper = self.int("a long vector length")?;
            let lower = self.int("a long vector length")?;
            (u64::from(upper as u32) << 32) | u64::from(lower as u32)
        } else if short < 0 {
            return Err(self.error_at(at, format!("a negative vector length {short}")));
        } else {
            short as u64
        };
        let left = (self.data.len() - self.pos) as u64;
        if length.saturating_mul(min_bytes as u64) > left {
            return Err(self.error_at(
                at,
                format!("a vector of {length} elements, more than the {left} bytes left can hold"),
            ));
        }
        usize::try_from(length).map_err(|_| self.error_at(at, "a vector too long for this machine"))
    }

    fn item(&mut self) -> Result<RObject> {
        let flags = self.int("an object's flags")? as u32;
        self.item_with(flags)
    }

    fn item_with(&mut self, flags: u32) -> Result<RObject> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("objects nested more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let item = self.item_inner(flags);
        self.depth -= 1;
        item
    }

    fn item_inner(&mut self, flags: u32) -> Result<RObject> {
        let start = self.pos - 4;
        let sexptype = (flags & 0xff) as u8;
        let has_attr = flags & HAS_ATTR_BIT != 0;
        let opaque = |what| Ok(RObject::new(RValue::Opaque(what)));
        match sexptype {
            NILVALUE_SXP | NILSXP => Ok(RObject::new(RValue::Null)),
            REFSXP => {
                let mut index = (flags >> 8) as usize;
                if index == 0 {
                    let packed = self.int("a reference index")?;
                    index = usize::try_from(packed).unwrap_or(0);
                }
                match index.checked_sub(1).and_then(|i| self.refs.get(i)) {
                    Some(object) => Ok(object.clone()),
                    None => Err(self.error_at(
                        start,
                        format!(
                            "a reference to entry {index} of a table of {} entries",
                            self.refs.len()
                        ),
                    )),
                }
            }
            GLOBALENV_SXP | EMPTYENV_SXP | BASEENV_SXP | BASENAMESPACE_SXP => {
                opaque("an environment")
            }
            UNBOUNDVALUE_SXP | MISSINGARG_SXP => opaque("a special value"),
            NAMESPACESXP | PACKAGESXP | PERSISTSXP => {
                self.string_vec()?;
                let object = RObject::new(RValue::Opaque("an environment"));
                self.refs.push(object.clone());
                Ok(object)
            }
            SYMSXP => {
                let name_flags = self.int("a symbol's name")? as u32;
                if name_flags & 0xff != u32::from(CHARSXP) {
                    return Err(self.error(format!(
                        "a symbol's name of type {}, not a string",
                        name_flags & 0xff
                    )));
                }
                let name = self
                    .charsxp(name_flags)?
                    .unwrap_or_else(|| "NA".to_string());
                let object = RObject::new(RValue::Symbol(name));
                self.refs.push(object.clone());
                Ok(object)
            }
            ENVSXP => {
                self.int("an environment's lock")?;
                self.refs
                    .push(RObject::new(RValue::Opaque("an environment")));
                for _ in 0..4 {
                    // enclosure, frame, hash table, attributes
                    self.item()?;
                }
                opaque("an environment")
            }
            LISTSXP | LANGSXP | CLOSXP | PROMSXP | DOTSXP | ATTRLANGSXP | ATTRLISTSXP => {
                self.pairlist(flags)
            }
            SPECIALSXP | BUILTINSXP => {
                let length = self.length(1)?;
                self.take(length, "a builtin's name")?;
                opaque("a builtin function")
            }
            CHARSXP => Err(self.error_at(start, "a string outside a character vector")),
            LGLSXP | INTSXP => {
                let length = self.length(4)?;
                let mut values = Vec::with_capacity(length);
                for _ in 0..length {
                    values.push(self.int("an integer")?);
                }
                let value = if sexptype == LGLSXP {
                    RValue::Logical(values)
                } else {
                    RValue::Integer(values)
                };
                self.with_attributes(value, has_attr)
            }
            REALSXP => {
                let length = self.length(8)?;
                let mut values = Vec::with_capacity(length);
                for _ in 0..length {
                    values.push(self.double("a double")?);
                }
                self.with_attributes(RValue::Real(values), has_attr)
            }
            CPLXSXP => {
                let length = self.length(16)?;
                let mut values = Vec::with_capacity(length);
                for _ in 0..length {
                    values.push([self.double("a complex")?, self.double("a complex")?]);
                }
                self.with_attributes(RValue::Complex(values), has_attr)
            }
            STRSXP => {
                let length = self.length(8)?;
                let mut values = Vec::with_capacity(length);
                for _ in 0..length {
                    let at = self.pos;
                    let element = self.int("a string's flags")? as u32;
                    if element & 0xff != u32::from(CHARSXP) {
                        return Err(self.error_at(
                            at,
                            format!(
                                "an element of type {} in a character vector",
                                element & 0xff
                            ),
                        ));
                    }
                    values.push(self.charsxp(element)?);
                }
                self.with_attributes(RValue::Character(values), has_attr)
            }
            VECSXP | EXPRSXP => {
                let length = self.length(4)?;
                let mut values = Vec::with_capacity(length);
                for _ in 0..length {
                    values.push(self.item()?);
                }
                self.with_attributes(RValue::List(values), has_attr)
            }
            RAWSXP => {
                let length = self.length(1)?;
                let bytes = self.take(length, "raw bytes")?.to_vec();
                self.with_attributes(RValue::Raw(bytes), has_attr)
            }
            S4SXP => self.with_attributes(RValue::Opaque("an S4 object"), has_attr),
            EXTPTRSXP => {
                self.refs
                    .push(RObject::new(RValue::Opaque("an external pointer")));
                self.item()?; // protected value
                self.item()?; // tag
                self.with_attributes(RValue::Opaque("an external pointer"), has_attr)
            }
            WEAKREFSXP => {
                self.refs
                    .push(RObject::new(RValue::Opaque("a weak reference")));
                self.with_attributes(RValue::Opaque("a weak reference"), has_attr)
            }
            ALTREP_SXP => self.altrep(start),
            BCODESXP | CLASSREFSXP | GENERICREFSXP => Err(self.error_at(
                start,
                format!(
                    "objects of type {sexptype} (byte code, class references) are not supported"
                ),
            )),
            other => Err(self.error_at(start, format!("unknown object type {other}"))),
        }
    }

    fn with_attributes(&mut self, value: RValue, has_attr: bool) -> Result<RObject> {
        let attributes = if has_attr {
            let list = self.item()?;
            self.attribute_list(list)?
        } else {
            Vec::new()
        };
        Ok(RObject { value, attributes })
    }

    fn attribute_list(&self, list: RObject) -> Result<Vec<(String, RObject)>> {
        match list.value {
            RValue::Null => Ok(Vec::new()),
            RValue::Pairlist(items) => items
                .into_iter()
                .map(|(tag, value)| {
                    tag.map(|name| (name, value))
                        .ok_or_else(|| self.error("an attribute without a name"))
                })
                .collect(),
            _ => Err(self.error(format!(
                "attributes given as {}, not a pairlist",
                list.type_name()
            ))),
        }
    }

    /// A pairlist-like object from its first cell's flags, read cell by cell (a long pairlist
    /// does not recurse).
    fn pairlist(&mut self, flags: u32) -> Result<RObject> {
        let kind = (flags & 0xff) as u8;
        let mut elements = Vec::new();
        let mut attributes = Vec::new();
        let mut cell = flags;
        loop {
            if cell & HAS_ATTR_BIT != 0 {
                let list = self.item()?;
                let cell_attributes = self.attribute_list(list)?;
                if elements.is_empty() {
                    attributes = cell_attributes;
                }
            }
            let tag = if cell & HAS_TAG_BIT != 0 {
                match self.item()?.value {
                    RValue::Symbol(name) => Some(name),
                    _ => None,
                }
            } else {
                None
            };
            let car = self.item()?;
            elements.push((tag, car));
            let next = self.int("the rest of a pairlist")? as u32;
            match (next & 0xff) as u8 {
                NILVALUE_SXP => break,
                t if t == kind => cell = next,
                _ => {
                    // A dotted pair (the rest is not a pairlist): keep it as an untagged element.
                    let rest = self.item_with(next)?;
                    elements.push((None, rest));
                    break;
                }
            }
        }
        let value = match kind {
            LISTSXP | ATTRLISTSXP => RValue::Pairlist(elements),
            CLOSXP => RValue::Opaque("a closure"),
            PROMSXP => RValue::Opaque("a promise"),
            _ => RValue::Opaque("a language object"),
        };
        Ok(RObject { value, attributes })
    }

    /// A `CHARSXP`'s string (after its flags): `None` for `NA_character_`.
    fn charsxp(&mut self, flags: u32) -> Result<Option<String>> {
        let at = self.pos;
        let length = self.int("a string's length")?;
        if length == -1 {
            return Ok(None);
        }
        let length = usize::try_from(length)
            .map_err(|_| self.error_at(at, format!("a negative string length {length}")))?;
        let bytes = self.take(length, "a string")?;
        let levels = flags >> 12;
        let latin1 = |bytes: &[u8]| bytes.iter().map(|&b| char::from(b)).collect::<String>();
        if levels & LATIN1_MASK != 0 {
            return Ok(Some(latin1(bytes)));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.to_string())),
            Err(_) if self.native_latin1 && levels & BYTES_MASK == 0 => Ok(Some(latin1(bytes))),
            Err(e) => Err(self.error_at(
                at,
                format!("a string that is not valid UTF-8 ({e}) nor marked Latin-1"),
            )),
        }
    }

    /// `InStringVec`: the names of a namespace or package environment.
    fn string_vec(&mut self) -> Result<Vec<Option<String>>> {
        if self.int("a string vector's marker")? != 0 {
            return Err(self.error("a names vector without its 0 marker"));
        }
        let length = self.length(8)?;
        let mut names = Vec::with_capacity(length);
        for _ in 0..length {
            let flags = self.int("a string's flags")? as u32;
            names.push(self.charsxp(flags)?);
        }
        Ok(names)
    }

    /// An ALTREP object: its class, its state and its attributes, expanded to the ordinary
    /// vector it stands for.
    fn altrep(&mut self, start: usize) -> Result<RObject> {
        let info = self.item()?;
        let state = self.item()?;
        let attributes = self.item()?;
        let attributes = self.attribute_list(attributes)?;
        let class = match &info.value {
            RValue::Pairlist(items) => match items.first().map(|(_, c)| &c.value) {
                Some(RValue::Symbol(class)) => class.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let unsupported =
            |why: &str| self.error_at(start, format!("ALTREP object of class `{class}`: {why}"));
        let value = match class.as_str() {
            "compact_intseq" | "compact_realseq" => {
                let RValue::Real(params) = &state.value else {
                    return Err(unsupported("its state is not (length, start, step)"));
                };
                let &[n, first, step] = params.as_slice() else {
                    return Err(unsupported("its state is not (length, start, step)"));
                };
                if !((0.0..=MAX_SEQUENCE).contains(&n) && n.fract() == 0.0) {
                    return Err(unsupported(&format!("a length of {n}")));
                }
                let n = n as usize;
                if class == "compact_intseq" {
                    let in_range = |x: f64| x.fract() == 0.0 && x.abs() <= f64::from(i32::MAX);
                    let last = first + step * (n.max(1) - 1) as f64;
                    if !(in_range(first) && in_range(step) && in_range(last)) {
                        return Err(unsupported("a sequence outside the integers"));
                    }
                    RValue::Integer((0..n).map(|i| (first + step * i as f64) as i32).collect())
                } else {
                    RValue::Real((0..n).map(|i| first + step * i as f64).collect())
                }
            }
            "deferred_string" => {
                let (arg, scipen) = match &state.value {
                    RValue::Pairlist(items) => (
                        items.first().map(|(_, a)| a),
                        match items.get(1).map(|(_, s)| &s.value) {
                            Some(RValue::Integer(s)) => s.first().copied().unwrap_or(0),
                            _ => 0,
                        },
                    ),
                    _ => (None, 0),
                };
                match arg.map(|a| &a.value) {
                    Some(RValue::Integer(values)) => RValue::Character(
                        values
                            .iter()
                            .map(|&v| (v != NA_INTEGER).then(|| v.to_string()))
                            .collect(),
                    ),
                    Some(RValue::Real(values)) => {
                        let mut strings = Vec::with_capacity(values.len());
                        for &v in values {
                            match r_whole_double_as_character(v, scipen) {
                                Some(s) => strings.push(s),
                                None => {
                                    return Err(unsupported(&format!(
                                        "the double {v} as a string (only whole numbers are)"
                                    )))
                                }
                            }
                        }
                        RValue::Character(strings)
                    }
                    _ => return Err(unsupported("its state is not an integer or double vector")),
                }
            }
            c if c.starts_with("wrap_") => match state.value {
                RValue::Pairlist(mut items) if !items.is_empty() => items.swap_remove(0).1.value,
                RValue::List(mut items) if !items.is_empty() => items.swap_remove(0).value,
                _ => return Err(unsupported("its state holds no wrapped vector")),
            },
            _ => return Err(unsupported(
                "not supported (compact_intseq, compact_realseq, deferred_string and wrap_* are)",
            )),
        };
        Ok(RObject { value, attributes })
    }
}

/// `as.character()` of a whole double as R writes it (15 significant digits, scientific when that
/// is shorter, `scipen` added to the fixed width's allowance); `None` for NaN, infinities and
/// fractions.
fn r_whole_double_as_character(v: f64, scipen: i32) -> Option<Option<String>> {
    if v.is_nan() {
        return Some(None);
    }
    if !v.is_finite() || v.fract() != 0.0 || v.abs() >= 1e15 {
        return None;
    }
    let fixed = format!("{v:.0}");
    let digits = fixed.trim_start_matches('-');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Some(Some("0".to_string()));
    }
    let exponent = digits.len() - 1;
    let mantissa = if significant.len() > 1 {
        format!("{}.{}", &significant[..1], &significant[1..])
    } else {
        significant.to_string()
    };
    let sign = if v < 0.0 { "-" } else { "" };
    let scientific = format!("{sign}{mantissa}e+{exponent:02}");
    if fixed.len() as i64 <= scientific.len() as i64 + i64::from(scipen) {
        Some(Some(fixed))
    } else {
        Some(Some(scientific))
    }
}

/// One column of a data frame, typed as it is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Integer(Vec<i32>),
    Logical(Vec<i32>),
    Real(Vec<f64>),
    Character(Vec<Option<String>>),
    /// A factor: 1-based codes into its levels.
    Factor {
        codes: Vec<i32>,
        levels: Vec<Option<String>>,
    },
    /// R `Date`: days since 1970-01-01.
    Date(Vec<f64>),
    /// R `POSIXct`: seconds since 1970-01-01 00:00:00 UTC.
    DateTime(Vec<f64>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Integer(v) | Column::Logical(v) => v.len(),
            Column::Factor { codes, .. } => codes.len(),
            Column::Real(v) | Column::Date(v) | Column::DateTime(v) => v.len(),
            Column::Character(v) => v.len(),
        }
    }
}

/// A data frame: named columns of one length.
#[derive(Clone, Debug, PartialEq)]
pub struct DataFrame {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: usize,
}

/// The data frame `object` (or its element `element`, for a list of data frames) of an R data
/// file, written as CSV (see the module documentation).
pub fn data_frame_csv(rda: &[u8], object: &str, element: Option<&str>) -> Result<Vec<u8>> {
    let objects = read_rda(rda)?;
    let found = find(&objects, object, element)?;
    let what = match element {
        Some(element) => format!("{object}${element}"),
        None => object.to_string(),
    };
    let frame = data_frame(found, &what)?;
    write_csv(&frame)
}

/// The object `object` among those saved, or its element `element` when it is a named list.
pub fn find<'a>(
    objects: &'a [(String, RObject)],
    object: &str,
    element: Option<&str>,
) -> Result<&'a RObject> {
    let Some((_, found)) = objects.iter().find(|(name, _)| name == object) else {
        return Err(RdataError::Convert(format!(
            "no object `{object}` in the R data file (it holds: {})",
            objects
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let Some(element) = element else {
        return Ok(found);
    };
    let (RValue::List(items), Some(names)) = (&found.value, found.names()) else {
        return Err(RdataError::Convert(format!(
            "`{object}` is {}, not a named list, so it has no element `{element}`",
            found.type_name()
        )));
    };
    match names.iter().position(|n| n.as_deref() == Some(element)) {
        Some(i) => items.get(i).ok_or_else(|| {
            RdataError::Convert(format!("`{object}` has fewer elements than names"))
        }),
        None => Err(RdataError::Convert(format!(
            "`{object}` has no element `{element}` (it has: {})",
            names
                .iter()
                .map(|n| n.as_deref().unwrap_or("NA"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `object` as a data frame (`what` names it in errors).
pub fn data_frame(object: &RObject, what: &str) -> Result<DataFrame> {
    let convert = |message: String| RdataError::Convert(format!("`{what}`: {message}"));
    let RValue::List(items) = &object.value else {
        return Err(convert(format!("{}, not a data frame", object.type_name())));
    };
    if !object.inherits("data.frame") {
        return Err(convert("a list without the class data.frame".to_string()));
    }
    let names = match object.names() {
        Some(names) if names.len() == items.len() => names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                n.clone()
                    .ok_or_else(|| convert(format!("column {} has no name (NA)", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(convert(format!(
                "its names do not name its {} columns",
                items.len()
            )))
        }
    };
    let rows = match object.attribute("row.names").map(|r| &r.value) {
        // The compact form c(NA, -n) (or c(NA, n)) of row names 1..n.
        Some(RValue::Integer(r)) if r.len() == 2 && r[0] == NA_INTEGER => {
            r[1].unsigned_abs() as usize
        }
        Some(RValue::Integer(r)) => r.len(),
        Some(RValue::Character(r)) => r.len(),
        Some(RValue::Real(r)) => r.len(),
        _ => items.first().map_or(0, |c| column_length(&c.value)),
    };
    let mut columns = Vec::with_capacity(items.len());
    for (name, item) in names.iter().zip(items) {
        let column = column(item).map_err(|m| convert(format!("column `{name}`: {m}")))?;
        if column.len() != rows {
            return Err(convert(format!(
                "column `{name}` has {} values for {rows} rows",
                column.len()
            )));
        }
        columns.push(column);
    }
    Ok(DataFrame {
        names,
        columns,
        rows,
    })
}

fn column_length(value: &RValue) -> usize {
    match value {
        RValue::Logical(v) | RValue::Integer(v) => v.len(),
        RValue::Real(v) => v.len(),
        RValue::Character(v) => v.len(),
        RValue::Complex(v) => v.len(),
        RValue::List(v) => v.len(),
        RValue::Raw(v) => v.len(),
        _ => 0,
    }
}

fn column(item: &RObject) -> std::result::Result<Column, String> {
    let date = item.inherits("Date");
    let datetime = item.inherits("POSIXct");
    match &item.value {
        RValue::Integer(codes) if item.inherits("factor") => {
            match item.attribute("levels").map(|l| &l.value) {
                Some(RValue::Character(levels)) => Ok(Column::Factor {
                    codes: codes.clone(),
                    levels: levels.clone(),
                }),
                _ => Err("a factor without character levels".to_string()),
            }
        }
        RValue::Integer(v) if date || datetime => {
            let v = v
                .iter()
                .map(|&x| {
                    if x == NA_INTEGER {
                        f64::NAN
                    } else {
                        f64::from(x)
                    }
                })
                .collect();
            Ok(if date {
                Column::Date(v)
            } else {
                Column::DateTime(v)
            })
        }
        RValue::Integer(v) => Ok(Column::Integer(v.clone())),
        RValue::Logical(v) => Ok(Column::Logical(v.clone())),
        RValue::Real(v) if date => Ok(Column::Date(v.clone())),
        RValue::Real(v) if datetime => Ok(Column::DateTime(v.clone())),
        RValue::Real(v) => Ok(Column::Real(v.clone())),
        RValue::Character(v) => Ok(Column::Character(v.clone())),
        _ => Err(format!(
            "{} is not a column this writer supports",
            item.type_name()
        )),
    }
}

/// The data frame as CSV (see the module documentation).
pub fn write_csv(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(frame.rows * frame.columns.len() * 8 + 64);
    let header: Vec<&str> = frame.names.iter().map(String::as_str).collect();
    write_record(&mut out, header.iter().copied());
    let mut fields: Vec<String> = vec![String::new(); frame.columns.len()];
    for row in 0..frame.rows {
        for (field, (column, name)) in fields
            .iter_mut()
            .zip(frame.columns.iter().zip(&frame.names))
        {
            field.clear();
            format_value(field, column, row).map_err(|m| {
                RdataError::Convert(format!("column `{name}`, row {}: {m}", row + 1))
            })?;
        }
        write_record(&mut out, fields.iter().map(String::as_str));
    }
    Ok(out)
}

/// One CSV line as Python's `csv` module writes it (minimal quoting, `\n`).
fn write_record<'f>(out: &mut Vec<u8>, fields: impl Iterator<Item = &'f str>) {
    let mut count = 0;
    let mut only_empty = true;
    for (i, field) in fields.enumerate() {
        count += 1;
        if i > 0 {
            out.push(b',');
        }
        if !field.is_empty() {
            only_empty = false;
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    // A line of one empty field is written `""` (else it would read back as no field at all).
    if count == 1 && only_empty {
        out.extend_from_slice(b"\"\"");
    }
    out.push(b'\n');
}

fn format_value(out: &mut String, column: &Column, row: usize) -> std::result::Result<(), String> {
    use std::fmt::Write as _;
    match column {
        Column::Integer(v) => {
            if let Some(&x) = v.get(row).filter(|&&x| x != NA_INTEGER) {
                let _ = write!(out, "{x}");
            }
        }
        Column::Logical(v) => match v.get(row) {
            Some(&NA_INTEGER) | None => {}
            Some(&0) => out.push_str("False"),
            Some(_) => out.push_str("True"),
        },
        Column::Real(v) => {
            if let Some(&x) = v.get(row).filter(|x| !x.is_nan()) {
                python_float_repr(out, x);
            }
        }
        Column::Character(v) => {
            if let Some(Some(s)) = v.get(row) {
                out.push_str(s);
            }
        }
        Column::Factor { codes, levels } => match codes.get(row) {
            Some(&NA_INTEGER) | None => {}
            Some(&code) => {
                let level = usize::try_from(code)
                    .ok()
                    .and_then(|c| c.checked_sub(1))
                    .and_then(|i| levels.get(i));
                match level {
                    Some(Some(label)) => out.push_str(label),
                    Some(None) => {}
                    None => {
                        return Err(format!(
                            "factor code {code} outside its {} levels",
                            levels.len()
                        ))
                    }
                }
            }
        },
        Column::Date(v) => {
            if let Some(&days) = v.get(row).filter(|x| !x.is_nan()) {
                let date = (days.is_finite() && days.abs() < 1e8)
                    .then(|| {
                        chrono::NaiveDate::from_num_days_from_ce_opt(days.floor() as i32 + 719_163)
                    })
                    .flatten()
                    .ok_or_else(|| {
                        format!("the date {days} (days since 1970-01-01) is out of range")
                    })?;
                let _ = write!(out, "{}", date.format("%Y-%m-%d"));
            }
        }
        Column::DateTime(v) => {
            if let Some(&seconds) = v.get(row).filter(|x| !x.is_nan()) {
                let whole = seconds.floor();
                let micros = ((seconds - whole) * 1e6).round() as u32;
                let time = (seconds.is_finite() && seconds.abs() < 1e13)
                    .then(|| {
                        chrono::DateTime::from_timestamp(whole as i64, micros.min(999_999) * 1000)
                    })
                    .flatten()
                    .ok_or_else(|| {
                        format!("the time {seconds} (seconds since 1970) is out of range")
                    })?;
                if micros == 0 {
                    let _ = write!(out, "{}", time.format("%Y-%m-%dT%H:%M:%SZ"));
                } else {
                    let _ = write!(out, "{}", time.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
                }
            }
        }
    }
    Ok(())
}

/// `x` as Python's `repr()` (and numpy's `str`, which pandas writes) spells a double: the
/// shortest digits that read back to `x`, positional for exponents -4 to 15 (with `.0` when
/// whole), else scientific with a signed exponent of at least two digits.
pub fn python_float_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust's `{:e}` writes the same shortest round-trip digits: `-1.2345e-5`, `0e0`, `1e16`.
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = std::fmt::Write::write_fmt(
            out,
            format_args!(
                "e{}{:02}",
                if exponent < 0 { '-' } else { '+' },
                exponent.abs()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const IS_OBJECT_BIT: u32 = 1 << 8;

    /// Writes R serialization streams (XDR) by hand, symbols as references after their first use.
    struct Stream {
        bytes: Vec<u8>,
        symbols: HashMap<String, usize>,
        refs: usize,
    }

    impl Stream {
        fn rda(version: i32) -> Self {
            let mut s = Stream {
                bytes: Vec::new(),
                symbols: HashMap::new(),
                refs: 0,
            };
            s.bytes.extend_from_slice(if version == 3 {
                b"RDX3\nX\n"
            } else {
                b"RDX2\nX\n"
            });
            s.int(version).int(0x0004_0300).int(0x0003_0500);
            if version == 3 {
                s.int(5);
                s.bytes.extend_from_slice(b"UTF-8");
            }
            s
        }
        fn int(&mut self, x: i32) -> &mut Self {
            self.bytes.extend_from_slice(&x.to_be_bytes());
            self
        }
        fn double(&mut self, x: f64) -> &mut Self {
            self.bytes.extend_from_slice(&x.to_be_bytes());
            self
        }
        fn flags(&mut self, sexptype: u8, object: bool, attr: bool, tag: bool) -> &mut Self {
            let mut flags = u32::from(sexptype);
            if object {
                flags |= IS_OBJECT_BIT;
            }
            if attr {
                flags |= HAS_ATTR_BIT;
            }
            if tag {
                flags |= HAS_TAG_BIT;
            }
            self.int(flags as i32)
        }
        fn nil(&mut self) -> &mut Self {
            self.int(i32::from(NILVALUE_SXP))
        }
        fn charsxp(&mut self, s: Option<&str>) -> &mut Self {
            // levels: ASCII (64) or UTF-8 (8)
            let levels: u32 = match s {
                Some(s) if s.is_ascii() => 64,
                Some(_) => 8,
                None => 0,
            };
            self.int(((levels << 12) | u32::from(CHARSXP)) as i32);
            match s {
                Some(s) => {
                    self.int(s.len() as i32);
                    self.bytes.extend_from_slice(s.as_bytes());
                }
                None => {
                    self.int(-1);
                }
            }
            self
        }
        fn symbol(&mut self, name: &str) -> &mut Self {
            if let Some(&index) = self.symbols.get(name) {
                return self.int(((index << 8) as u32 | u32::from(REFSXP)) as i32);
            }
            self.refs += 1;
            self.symbols.insert(name.to_string(), self.refs);
            self.int(i32::from(SYMSXP)).charsxp(Some(name))
        }
        fn strings(&mut self, values: &[Option<&str>]) -> &mut Self {
            self.flags(STRSXP, false, false, false)
                .int(values.len() as i32);
            for v in values {
                self.charsxp(*v);
            }
            self
        }
        fn ints(&mut self, values: &[i32], attr: bool) -> &mut Self {
            self.flags(INTSXP, attr, attr, false)
                .int(values.len() as i32);
            for &v in values {
                self.int(v);
            }
            self
        }
        fn doubles(&mut self, values: &[f64], attr: bool) -> &mut Self {
            self.flags(REALSXP, attr, attr, false)
                .int(values.len() as i32);
            for &v in values {
                self.double(v);
            }
            self
        }
        /// Starts a tagged pairlist cell (attributes, saved objects); its value comes next.
        fn cell(&mut self, tag: &str) -> &mut Self {
            self.flags(LISTSXP, false, false, true).symbol(tag)
        }
        /// An ALTREP object's flags and class: (class, package, type) as a pairlist.
        fn altrep_class(&mut self, class: &str, sexptype: i32) -> &mut Self {
            self.int(i32::from(ALTREP_SXP));
            self.flags(LISTSXP, false, false, false).symbol(class);
            self.flags(LISTSXP, false, false, false).symbol("base");
            self.flags(LISTSXP, false, false, false)
                .ints(&[sexptype], false);
            self.nil()
        }
        fn class(&mut self, classes: &[&str]) -> &mut Self {
            let classes: Vec<Option<&str>> = classes.iter().map(|c| Some(*c)).collect();
            self.cell("class").strings(&classes)
        }
        /// A data frame's attributes: names, class, compact row names.
        fn frame_attributes(&mut self, names: &[&str], rows: i32) -> &mut Self {
            let names: Vec<Option<&str>> = names.iter().map(|n| Some(*n)).collect();
            self.cell("names").strings(&names);
            self.class(&["data.frame"]);
            self.cell("row.names").ints(&[NA_INTEGER, -rows], false);
            self.nil()
        }
    }

    /// `df`: an R data frame of three rows with a column of each kind.
    fn sample(version: i32) -> Vec<u8> {
        let mut s = Stream::rda(version);
        s.cell("df").flags(VECSXP, true, true, false).int(6);
        s.ints(&[1, NA_INTEGER, 3], false);
        s.doubles(&[0.1, f64::NAN, 1e16], false);
        s.strings(&[Some("a,b"), None, Some("say \"hi\" é")]);
        s.ints(&[2, 1, NA_INTEGER], true);
        s.cell("levels").strings(&[Some("lo"), Some("hi")]);
        s.class(&["factor"]).nil();
        s.doubles(&[17228.0, f64::NAN, 0.0], true);
        s.class(&["Date"]).nil();
        s.doubles(&[1_485_630_413.0, f64::NAN, 0.5], true);
        s.class(&["POSIXct", "POSIXt"]);
        s.cell("tzone").strings(&[Some("America/Chicago")]).nil();
        s.frame_attributes(&["id", "price", "label", "level", "day", "at"], 3);
        s.nil();
        s.bytes
    }

    const SAMPLE_CSV: &str = "id,price,label,level,day,at\n\
        1,0.1,\"a,b\",hi,2017-03-03,2017-01-28T19:06:53Z\n\
        ,,,lo,,\n\
        3,1e+16,\"say \"\"hi\"\" é\",,1970-01-01,1970-01-01T00:00:00.500000Z\n";

    fn csv(rda: &[u8], object: &str, element: Option<&str>) -> String {
        String::from_utf8(data_frame_csv(rda, object, element).unwrap()).unwrap()
    }

    #[test]
    fn a_data_frame_is_written_as_pandas_wrote_it() {
        assert_eq!(csv(&sample(2), "df", None), SAMPLE_CSV);
        assert_eq!(csv(&sample(3), "df", None), SAMPLE_CSV);
    }

    #[test]
    fn every_compression_r_writes_is_read() {
        let plain = sample(2);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&plain).unwrap();
        let bz = bz.finish().unwrap();
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &plain[..], &mut xz).unwrap();
        for compressed in [&gz, &bz, &xz] {
            assert_ne!(compressed, &plain);
            assert_eq!(csv(compressed, "df", None), SAMPLE_CSV);
        }
        let err = read_rda(b"PK\x03\x04 a zip").unwrap_err().to_string();
        assert!(err.contains("not an R data file"), "{err}");
        let mut broken = bz.clone();
        let middle = broken.len() / 2;
        broken[middle] ^= 0xff;
        let err = read_rda(&broken).unwrap_err().to_string();
        assert!(err.contains("bzip2"), "{err}");
    }

    #[test]
    fn symbols_are_read_back_through_references() {
        let objects = read_rda(&sample(2)).unwrap();
        let frame = &objects[0].1;
        // "class" was written once as a symbol, then as references.
        assert!(frame.inherits("data.frame"));
        let RValue::List(columns) = &frame.value else {
            panic!("not a list")
        };
        assert!(columns[3].inherits("factor"));
        assert!(columns[5].inherits("POSIXct"));
        assert_eq!(
            columns[5].attribute("tzone").unwrap().value,
            RValue::Character(vec![Some("America/Chicago".into())])
        );
    }

    #[test]
    fn an_element_of_a_list_of_data_frames_is_found_by_name() {
        let mut s = Stream::rda(2);
        s.cell("juice").flags(VECSXP, false, true, false).int(2);
        for (column, value) in [("store", 2), ("week", 40)] {
            s.flags(VECSXP, true, true, false).int(1);
            s.ints(&[value], false);
            s.frame_attributes(&[column], 1);
        }
        s.cell("names")
            .strings(&[Some("yx"), Some("storedemo")])
            .nil();
        s.nil();
        assert_eq!(csv(&s.bytes, "juice", Some("yx")), "store\n2\n");
        assert_eq!(csv(&s.bytes, "juice", Some("storedemo")), "week\n40\n");
        let err = data_frame_csv(&s.bytes, "juice", Some("tuna"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no element `tuna`") && err.contains("yx, storedemo"),
            "{err}"
        );
        let err = data_frame_csv(&s.bytes, "juice", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("without the class data.frame"), "{err}");
        let err = data_frame_csv(&s.bytes, "cheese", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no object `cheese`") && err.contains("juice"),
            "{err}"
        );
    }

    #[test]
    fn altrep_vectors_are_expanded() {
        let mut s = Stream::rda(3);
        s.cell("df").flags(VECSXP, true, true, false).int(4);
        // 1:3 as compact_intseq
        s.altrep_class("compact_intseq", 13);
        s.doubles(&[3.0, 1.0, 1.0], false);
        s.nil();
        // as.character(c(5L, NA, 7L)), deferred
        s.altrep_class("deferred_string", 16);
        s.flags(LISTSXP, false, false, false)
            .ints(&[5, NA_INTEGER, 7], false);
        s.flags(LISTSXP, false, false, false)
            .ints(&[0], false)
            .nil();
        s.nil();
        // a wrapped double vector
        s.altrep_class("wrap_real", 14);
        s.flags(LISTSXP, false, false, false)
            .doubles(&[2.5, -0.0, 1e-5], false);
        s.flags(LISTSXP, false, false, false)
            .ints(&[0, 0], false)
            .nil();
        s.nil();
        // as.character(c(100000, 123456, -3)), deferred
        s.altrep_class("deferred_string", 16);
        s.flags(LISTSXP, false, false, false)
            .doubles(&[1e5, 123456.0, -3.0], false);
        s.flags(LISTSXP, false, false, false)
            .ints(&[0], false)
            .nil();
        s.nil();
        s.frame_attributes(&["n", "s", "x", "d"], 3);
        s.nil();
        assert_eq!(
            csv(&s.bytes, "df", None),
            "n,s,x,d\n1,5,2.5,1e+05\n2,,-0.0,123456\n3,7,1e-05,-3\n"
        );
    }

    #[test]
    fn broken_input_is_an_error_naming_the_offset() {
        let full = sample(2);
        for cut in [3, 9, 20, full.len() / 2, full.len() - 1] {
            let err = read_rda(&full[..cut]).unwrap_err();
            assert!(
                matches!(err, RdataError::Parse { .. } | RdataError::NotRdata(_)),
                "{cut}: {err}"
            );
        }
        let err = read_rda(&full[..full.len() / 2]).unwrap_err().to_string();
        assert!(
            err.contains("at byte") && err.contains("the data ends"),
            "{err}"
        );
        // A length far beyond the data is refused before anything is allocated.
        let mut s = Stream::rda(2);
        s.cell("x")
            .flags(REALSXP, false, false, false)
            .int(i32::MAX);
        let err = read_rda(&s.bytes).unwrap_err().to_string();
        assert!(err.contains("more than the"), "{err}");
        // Long-vector lengths too.
        let mut s = Stream::rda(2);
        s.cell("x")
            .flags(INTSXP, false, false, false)
            .int(-1)
            .int(0x7fff_ffff)
            .int(-1);
        assert!(read_rda(&s.bytes).is_err());
        // A reference to nothing.
        let mut s = Stream::rda(2);
        s.flags(LISTSXP, false, false, true).int((7 << 8) | 255);
        let err = read_rda(&s.bytes).unwrap_err().to_string();
        assert!(err.contains("reference to entry 7"), "{err}");
        // The ASCII format and an unknown type.
        let err = read_rda(b"RDX2\nA\n2\n").unwrap_err().to_string();
        assert!(err.contains("ASCII"), "{err}");
        let mut s = Stream::rda(2);
        s.cell("x").int(99);
        let err = read_rda(&s.bytes).unwrap_err().to_string();
        assert!(err.contains("unknown object type 99"), "{err}");
        // Lists nested past the limit.
        let mut s = Stream::rda(2);
        s.cell("x");
        for _ in 0..(MAX_DEPTH + 5) {
            s.flags(VECSXP, false, false, false).int(1);
        }
        s.nil();
        let err = read_rda(&s.bytes).unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
        // Not a data frame, and an .rds-like stream.
        assert!(read_rda(b"RDX2\nX\n\0\0\0\x02").is_err());
    }

    #[test]
    fn a_column_of_the_wrong_length_or_kind_is_refused() {
        let mut s = Stream::rda(2);
        s.cell("df").flags(VECSXP, true, true, false).int(2);
        s.ints(&[1, 2], false);
        s.ints(&[1], false);
        s.frame_attributes(&["a", "b"], 2);
        s.nil();
        let err = data_frame_csv(&s.bytes, "df", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("column `b` has 1 values for 2 rows"), "{err}");
        let mut s = Stream::rda(2);
        s.cell("df").flags(VECSXP, true, true, false).int(1);
        s.flags(VECSXP, false, false, false).int(0);
        s.frame_attributes(&["a"], 0);
        s.nil();
        let err = data_frame_csv(&s.bytes, "df", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("column `a`: a list is not a column"), "{err}");
    }

    #[test]
    fn doubles_are_spelled_as_python_repr_spells_them() {
        let repr = |x: f64| {
            let mut s = String::new();
            python_float_repr(&mut s, x);
            s
        };
        for (x, expected) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.9, "0.9"),
            (1744126.375, "1744126.375"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (9.96177e-05, "9.96177e-05"),
            (4.440892e-16, "4.440892e-16"),
            (1e15, "1000000000000000.0"),
            (1.5e15, "1500000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (-2.5e-300, "-2.5e-300"),
            (1e300, "1e+300"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789.0, "123456789.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(repr(x), expected, "{x:e}");
        }
    }

    #[test]
    fn a_line_of_one_empty_field_is_quoted() {
        let frame = DataFrame {
            names: vec!["x".into()],
            columns: vec![Column::Character(vec![
                Some("a".into()),
                None,
                Some(String::new()),
            ])],
            rows: 3,
        };
        assert_eq!(
            String::from_utf8(write_csv(&frame).unwrap()).unwrap(),
            "x\na\n\"\"\n\"\"\n"
        );
        let frame = DataFrame {
            names: vec!["b".into(), "n".into()],
            columns: vec![
                Column::Logical(vec![1, 0, NA_INTEGER]),
                Column::Integer(vec![-7, 0, NA_INTEGER]),
            ],
            rows: 3,
        };
        assert_eq!(
            String::from_utf8(write_csv(&frame).unwrap()).unwrap(),
            "b,n\nTrue,-7\nFalse,0\n,\n"
        );
    }

    /// The Complete Journey's two small R data files (CC0, tests/fixtures/completejourney/)
    /// convert to the CSV files the registry checks.
    #[test]
    fn the_complete_journey_fixtures_convert_to_the_registered_csvs() {
        use sha2::{Digest, Sha256};
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/completejourney");
        for (name, rows) in [("campaign_descriptions", 27), ("demographics", 801)] {
            let rda = std::fs::read(fixtures.join(format!("{name}.rda"))).unwrap();
            let csv = data_frame_csv(&rda, name, None).unwrap();
            let expected = super::super::registry::SOURCES
                .iter()
                .flat_map(|s| s.files)
                .find(|f| f.path == format!("{name}.csv"))
                .unwrap()
                .sha256;
            assert_eq!(hex::encode(Sha256::digest(&csv)), expected, "{name}");
            assert_eq!(csv.iter().filter(|&&b| b == b'\n').count(), rows + 1);
        }
    }
}
