/// Index formats 2 and 3 store each fixed-size table column by column, and the
/// columns that mostly grow (offsets, ids, references, times) as differences
/// from the row before. The tables' fields are then runs of small, alike
/// values, which zlib squeezes far better: on ten Django releases the
/// compressed index went from 980 KB (format 1, row by row) to 308 KB.
///
/// Both formats have the same sections with the same counts and the same
/// bytes per record (docs/FORMAT.md); format 2 only permutes and
/// delta-codes the bytes inside each table. So the codec converts one into
/// the other (`rows(fromColumns:)`, `columns(fromRows:)`) and a single
/// parser and validator serve both.
enum IndexColumns {
    /// One field of a record: its width in bytes and whether format 2 stores
    /// it as the difference from the previous record's (modulo 2^(8*width);
    /// the first record's difference is from zero).
    struct Field {
        let width: Int
        let delta: Bool
        init(_ width: Int, delta: Bool = false) {
            precondition([1, 4, 8].contains(width), "index fields are 1, 4 or 8 bytes")
            self.width = width; self.delta = delta
        }
    }

    /// A section: the width of its count, then its records' fields (nil: a
    /// byte string whose count is its length, stored as is).
    struct Section {
        let name: String
        let countWidth: Int
        let fields: [Field]?
        var recordSize: Int { fields?.reduce(0) { $0 + $1.width } ?? 1 }
    }

    /// The sections of format `version` (2 or 3). Format 3 stores the chunk
    /// table's offsets as what is left after predicting them (`IndexCodec`),
    /// mostly zeros, so they are not delta-coded.
    static func sections(version: UInt32) -> [Section] {
        version >= 5 ? sectionsV5 : version >= 4 ? sectionsV4 : version >= 3 ? sectionsV3 : sections
    }

    /// Format 5: format 4's tables hold the rows a segment adds; four
    /// sections follow: the segment record (one), the inodes it replaces,
    /// the versions it adds, and the builder state (bytes).
    static let sectionsV5: [Section] = sectionsV4 + [
        Section(name: "segment record", countWidth: 4, fields: [
            Field(4), Field(4), Field(8), Field(8), Field(8),                    // number, previous segment
            Field(4), Field(4), Field(4), Field(8), Field(4), Field(8), Field(8), // rows before it
            Field(4), Field(8), Field(4), Field(8), Field(4)]),
        Section(name: "replaced inode table", countWidth: 4, fields: [Field(4, delta: true)] + inodeFieldsV4),
        Section(name: "version table", countWidth: 4, fields: [
            Field(8, delta: true), Field(4), Field(8, delta: true), Field(4, delta: true), Field(8), Field(8)]),
        Section(name: "builder state", countWidth: 8, fields: nil),
    ]

    static var inodeFieldsV4: [Field] {
        sectionsV4.first { $0.name == "inode table" }!.fields!
    }

    /// Format 4: the inode gains its xattr set (u32), and four tables follow
    /// the string table: xattr sets, xattr pairs, sparse contents, data extents.
    static let sectionsV4: [Section] = sectionsV3.map { section in
        guard section.name == "inode table" else { return section }
        return Section(name: section.name, countWidth: section.countWidth, fields: section.fields! + [Field(4)])
    } + [
        Section(name: "xattr set table", countWidth: 4, fields: [Field(8, delta: true), Field(4)]),
        Section(name: "xattr pair table", countWidth: 8, fields: [Field(8), Field(4), Field(8), Field(4)]),
        Section(name: "sparse content table", countWidth: 4, fields: [Field(4, delta: true), Field(8, delta: true), Field(4)]),
        Section(name: "data extent table", countWidth: 8, fields: [Field(8), Field(8)]),
    ]

    static let sectionsV3: [Section] = sections.map { section in
        guard section.name == "chunk table" else { return section }
        return Section(name: section.name, countWidth: section.countWidth, fields: [
            Field(1), Field(4, delta: true), Field(4), Field(4), Field(4), Field(4)])
    }

    /// The sections of format 2 in order, field by field as docs/FORMAT.md lists them.
    static let sections: [Section] = [
        Section(name: "volume table", countWidth: 4, fields: [Field(8)]),
        Section(name: "frame table", countWidth: 4, fields: [
            Field(4, delta: true), Field(8, delta: true), Field(4), Field(4), Field(1), Field(8), Field(8)]),
        Section(name: "chunk table", countWidth: 4, fields: [
            Field(1), Field(4, delta: true), Field(4, delta: true), Field(4), Field(4), Field(4)]),
        Section(name: "content table", countWidth: 4, fields: [Field(8), Field(8, delta: true), Field(4)]),
        Section(name: "chunk reference list", countWidth: 8, fields: [Field(4, delta: true)]),
        Section(name: "inode table", countWidth: 4, fields: [
            Field(1), Field(4), Field(4), Field(4), Field(8, delta: true), Field(4), Field(4), Field(8),
            Field(8, delta: true), Field(4)]),
        Section(name: "directory entry table", countWidth: 8, fields: [
            Field(8, delta: true), Field(4), Field(4, delta: true)]),
        Section(name: "string table", countWidth: 8, fields: nil),
    ]

    /// Format 1 body (rows) -> format 2 or 3 body (columns).
    static func columns(fromRows body: UnsafeRawBufferPointer, version: UInt32 = 2, what: String) throws -> [UInt8] {
        try convert(body, sections: sections(version: version), what: what, toColumns: true)
    }

    /// Format 2 or 3 body (columns) -> format 1 body (rows). Every count is
    /// checked against the bytes that follow before anything is copied.
    static func rows(fromColumns body: UnsafeRawBufferPointer, version: UInt32 = 2, what: String) throws -> [UInt8] {
        try convert(body, sections: sections(version: version), what: what, toColumns: false)
    }

    private static func convert(_ body: UnsafeRawBufferPointer, sections: [Section], what: String,
                                toColumns: Bool) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: body.count)
        try out.withUnsafeMutableBytes { dst in
            var r = ByteReader(body, what: what)
            for section in sections {
                let countAt = r.position
                let count = try r.count(of: section.recordSize, wide: section.countWidth == 8, section: section.name)
                copy(body, countAt..<r.position, to: dst)
                let start = r.position
                let length = count * section.recordSize
                guard let fields = section.fields else {
                    copy(body, start..<(start + length), to: dst)
                    try r.skip(length)
                    continue
                }
                var fieldOffset = 0
                for field in fields {
                    // Row layout: record i's field at start + i*recordSize + fieldOffset.
                    // Column layout: start + count*fieldOffset + i*width.
                    let columnStart = start + count * fieldOffset
                    // One loop per width, so each is a tight loop of fixed-size moves.
                    let rows = (start + fieldOffset, section.recordSize), cols = (columnStart, field.width)
                    let (from, to) = toColumns ? (rows, cols) : (cols, rows)
                    switch field.width {
                    case 8: move(UInt64.self, count, body, from, dst, to, delta: field.delta, toColumns: toColumns)
                    case 4: move(UInt32.self, count, body, from, dst, to, delta: field.delta, toColumns: toColumns)
                    default: move(UInt8.self, count, body, from, dst, to, delta: field.delta, toColumns: toColumns)
                    }
                    fieldOffset += field.width
                }
                try r.skip(length)
            }
            guard r.remaining == 0 else {
                throw ArchiveError(.format, "\(what) is damaged: \(r.remaining) unexpected bytes after its last table")
            }
        }
        return out
    }

    private static func copy(_ body: UnsafeRawBufferPointer, _ range: Range<Int>, to dst: UnsafeMutableRawBufferPointer) {
        guard !range.isEmpty else { return }
        dst.baseAddress!.advanced(by: range.lowerBound).copyMemory(from: body.baseAddress!.advanced(by: range.lowerBound),
                                                                   byteCount: range.count)
    }

    /// Moves one field of `count` records: the i-th value from `from.start +
    /// i * from.stride` to `to.start + i * to.stride`, delta-coding it on the
    /// way to columns (or undoing that on the way back) where `delta`, with
    /// wrapping arithmetic at the field's own width. Specialized per width:
    /// the conversion runs on every archive open, over the whole inflated index.
    @inline(__always)
    private static func move<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ count: Int,
                                                                     _ src: UnsafeRawBufferPointer, _ from: (start: Int, stride: Int),
                                                                     _ dst: UnsafeMutableRawBufferPointer, _ to: (start: Int, stride: Int),
                                                                     delta: Bool, toColumns: Bool) {
        guard count > 0 else { return }
        let s = src.baseAddress!, d = dst.baseAddress!
        var previous: T = 0
        for i in 0..<count {
            var value = T(littleEndian: s.loadUnaligned(fromByteOffset: from.start + i * from.stride, as: T.self))
            if delta {
                if toColumns {
                    let raw = value
                    value = value &- previous
                    previous = raw
                } else {
                    value = value &+ previous
                    previous = value
                }
            }
            d.storeBytes(of: value.littleEndian, toByteOffset: to.start + i * to.stride, as: T.self)
        }
    }
}
