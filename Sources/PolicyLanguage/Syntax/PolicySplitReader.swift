import Dispatch
import Synchronization
import Yams

/// Reads a large policy file as two pieces composed and read on two threads, then joined: composing YAML
/// is most of a compile, and a 10,000-company policy is one file.
///
/// The file is cut at a line that starts an entry of `topics`, `tenants.companies` or `plans`, or a top-level
/// key. The second piece repeats the entry's ancestor keys (`tenants:` and `companies:`) on their own lines
/// and pads with empty lines, so every node keeps its line and column. Anything that could make the pieces
/// mean something other than the whole (a cut inside a block scalar, a multi-line quoted or flow value, an
/// alias to an anchor in the other piece, a key repeated across the cut, any diagnostic at all) is detected
/// and the caller reads the file whole instead, so the result and the diagnostics never depend on the cut.
enum PolicySplitReader {
    /// Smaller files are read whole: the saving would be below a millisecond.
    static let minimumBytes = 128 << 10

    /// Where a file is cut.
    struct Cut: Equatable {
        /// The first line (0-based) of the second piece.
        var line: Int
        /// Its indentation, in spaces.
        var indent: Int
        /// Whether it starts a list item (else a mapping entry).
        var isListItem: Bool
        /// The ancestor keys of the entry and the lines (0-based) they are on, outermost first.
        var ancestors: [(line: Int, key: String)]

        var path: [String] { ancestors.map(\.key) }

        static func == (a: Cut, b: Cut) -> Bool {
            a.line == b.line && a.indent == b.indent && a.isListItem == b.isListItem && a.path == b.path
                && a.ancestors.map(\.line) == b.ancestors.map(\.line)
        }
    }

    /// The containers a cut may fall in: the join below knows how to concatenate each.
    static let cuttablePaths: [[String]] = [[], ["topics"], ["tenants", "companies"], ["plans"]]

    /// The file read in two pieces, or `nil` when it is small or does not split safely.
    static func read(_ text: String, file: String) -> (PolicyDocument, [Diagnostic])? {
        guard text.utf8.count >= minimumBytes else { return nil }
        let lines = Lines(text)
        guard let cut = cut(lines, nearByte: lines.bytes.count / 2) else { return nil }
        return read(lines, file: file, cut: cut)
    }

    /// The first safe cut at or after the line holding `nearByte` (or before it, when none follows).
    static func cut(_ lines: Lines, nearByte: Int) -> Cut? {
        guard !lines.refusesEveryCut else { return nil }
        let middle = lines.index(containing: nearByte)
        // Each try may scan back to its container's key; a few dozen lines either way find an entry in any
        // list or mapping of entries.
        let bound = 64
        for index in middle..<min(lines.count, middle + bound) {
            if let cut = cut(lines, at: index) { return cut }
        }
        for index in stride(from: middle - 1, to: max(0, middle - bound), by: -1) {
            if let cut = cut(lines, at: index) { return cut }
        }
        return nil
    }

    /// A cut before line `index` (0-based), if the line starts an entry of a cuttable container.
    static func cut(_ lines: Lines, at index: Int) -> Cut? {
        guard index > 0, index < lines.count, let entry = lines.entry(index) else { return nil }
        var ancestors: [(line: Int, key: String)] = []
        var child = (index: index, indent: entry.indent, isListItem: entry.isListItem)
        while child.indent > 0 || child.isListItem {
            guard let parent = lines.parent(of: child.index, indent: child.indent, isListItem: child.isListItem),
                let header = lines.header(parent)
            else { return nil }
            ancestors.insert((parent, header.key), at: 0)
            child = (parent, header.indent, false)
            guard ancestors.count <= 2 else { return nil }
        }
        let cut = Cut(line: index, indent: entry.indent, isListItem: entry.isListItem, ancestors: ancestors)
        guard cuttablePaths.contains(cut.path), cut.path.isEmpty || entry.isListItem == (cut.path == ["topics"]) else { return nil }
        return cut
    }

    /// Reads the two pieces of a cut file on two threads and joins them; `nil` when that is not exactly the
    /// whole file's reading.
    static func read(_ lines: Lines, file: String, cut: Cut) -> (PolicyDocument, [Diagnostic])? {
        let texts = [lines.text(before: cut.line), lines.text(from: cut)]
        let pieces = Mutex<[Piece?]>([nil, nil])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let piece = Piece.read(texts[index], file: file, cut: cut, isFirst: index == 0)
            pieces.withLock { $0[index] = piece }
        }
        let read = pieces.withLock { $0 }
        guard let first = read[0], let second = read[1] else { return nil }
        return join(first.document, second.document, cut: cut).map { ($0, []) }
    }

    /// One piece, composed, checked against the cut, and read without a single diagnostic.
    private struct Piece {
        var document: PolicyDocument

        static func read(_ text: String, file: String, cut: Cut, isFirst: Bool) -> Piece? {
            guard let root = try? ScalarKind.compose(text),
                fits(root, cut: cut, isFirst: isFirst)
            else { return nil }
            let (document, diagnostics) = PolicyReader.read(root: root, file: file)
            guard diagnostics.isEmpty, document.parsed else { return nil }
            return Piece(document: document)
        }

        /// Whether the piece has the shape the cut implies: the first piece ends inside the container, in
        /// its last entry of each ancestor; the second starts with the ancestors and the container exactly
        /// where the cut line is.
        static func fits(_ root: Node, cut: Cut, isFirst: Bool) -> Bool {
            var node = root
            for (line, key) in cut.ancestors {
                // Ancestor mappings are small (the top level, `tenants`).
                guard case .mapping(let mapping) = node, let pair = isFirst ? Array(mapping).last : mapping.first,
                    pair.key.string == key, pair.key.mark?.line == line + 1
                else { return false }
                node = pair.value
            }
            switch node {
            case .sequence where cut.isListItem, .mapping where !cut.isListItem: break
            default: return false
            }
            guard let mark = node.mark, mark.column == cut.indent + 1 else { return false }
            // The entries themselves must sit at the cut's indentation: the first piece's last key and the
            // second piece's first key (a mapping's own position could be a property's, on another line).
            if case .mapping(let mapping) = node {
                guard let key = (isFirst ? Array(mapping).last : mapping.first)?.key.mark, key.column == cut.indent + 1 else { return false }
                if !isFirst, key.line != cut.line + 1 { return false }
            }
            if isFirst { return cut.ancestors.isEmpty || mark.line <= cut.line }
            return mark.line == cut.line + 1
        }
    }

    /// The two pieces' documents as one, or `nil` when a key is repeated across the cut.
    static func join(_ first: PolicyDocument, _ second: PolicyDocument, cut: Cut) -> PolicyDocument? {
        let shared = first.declaredKeys.intersection(second.declaredKeys)
        guard shared.isSubset(of: Set(cut.path.prefix(1))) else { return nil }
        var document = first
        document.declaredKeys.formUnion(second.declaredKeys)
        document.version = first.version ?? second.version
        document.defaults = first.defaults ?? second.defaults
        document.topics += second.topics
        switch (first.tenants, second.tenants) {
        case (let tenants?, let more?):
            guard tenants.defaultTenant == nil || more.defaultTenant == nil else { return nil }
            var joined = tenants
            joined.defaultTenant = tenants.defaultTenant ?? more.defaultTenant
            let ids = Set(tenants.companies.map(\.id.value))
            guard !more.companies.contains(where: { ids.contains($0.id.value) }) else { return nil }
            joined.companies += more.companies
            document.tenants = joined
        case (nil, let tenants), (let tenants, nil):
            document.tenants = tenants
        }
        let names = Set(first.plans.map(\.name.value))
        guard !second.plans.contains(where: { names.contains($0.name.value) }) else { return nil }
        document.plans += second.plans
        return document
    }

    /// A file's lines as byte ranges, with the little lexing a cut needs.
    struct Lines {
        let bytes: [UInt8]
        /// The byte offset where each line starts.
        let starts: [Int]

        init(_ text: String) {
            bytes = Array(text.utf8)
            var starts = [0]
            for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") && offset + 1 < bytes.count {
                starts.append(offset + 1)
            }
            self.starts = starts
        }

        var count: Int { starts.count }

        /// Whether a line starts with `---`, `...` or `%` (several documents, directives), the text breaks
        /// lines other than with LF or CRLF (a lone CR, NEL, LS, PS, which YAML also counts), or it holds `&`
        /// or `!` anywhere (an anchor or a tag, on a line of its own, moves the position of the node that
        /// follows, which the shape check relies on; a comment or a value with one of them is merely read
        /// whole): never cut.
        var refusesEveryCut: Bool {
            let markers = starts.contains { start in
                let rest = bytes[start...].prefix(3)
                return rest.elementsEqual("---".utf8) || rest.elementsEqual("...".utf8) || rest.first == UInt8(ascii: "%")
            }
            if markers { return true }
            for index in bytes.indices {
                switch bytes[index] {
                case UInt8(ascii: "&"), UInt8(ascii: "!"): return true
                case UInt8(ascii: "\r") where index + 1 == bytes.count || bytes[index + 1] != UInt8(ascii: "\n"): return true
                case 0xC2 where index + 1 < bytes.count && bytes[index + 1] == 0x85: return true
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                    return true
                default: continue
                }
            }
            return false
        }

        func index(containing offset: Int) -> Int {
            var low = 0
            var high = starts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if starts[middle] <= offset { low = middle } else { high = middle - 1 }
            }
            return low
        }

        /// The bytes of line `index`, without its line break.
        func line(_ index: Int) -> ArraySlice<UInt8> {
            let end = index + 1 < starts.count ? starts[index + 1] - 1 : bytes.count
            var line = bytes[starts[index]..<max(starts[index], end)]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return line
        }

        func indent(_ line: ArraySlice<UInt8>) -> Int { line.prefix { $0 == UInt8(ascii: " ") }.count }

        /// Whether the line holds nothing but spaces or a comment.
        func isBlank(_ index: Int) -> Bool {
            let line = line(index)
            let content = line.dropFirst(indent(line))
            return content.isEmpty || content.first == UInt8(ascii: "#")
        }

        /// The entry line `index` starts: a list item (`- `) or a mapping entry with a simple key (`key:`).
        func entry(_ index: Int) -> (indent: Int, isListItem: Bool)? {
            let line = line(index)
            let indent = indent(line)
            let content = line.dropFirst(indent)
            if content.first == UInt8(ascii: "-"), content.count == 1 || content.dropFirst().first == UInt8(ascii: " ") {
                return (indent, true)
            }
            guard Self.key(content) != nil else { return nil }
            return (indent, false)
        }

        /// The key of a line `key:` whose value follows on the next lines (nothing after the colon but a
        /// comment).
        func header(_ index: Int) -> (key: String, indent: Int)? {
            let line = line(index)
            let indent = indent(line)
            guard let (key, rest) = Self.key(line.dropFirst(indent)) else { return nil }
            let value = rest.drop { $0 == UInt8(ascii: " ") }
            guard value.isEmpty || value.first == UInt8(ascii: "#") else { return nil }
            return (key, indent)
        }

        /// A simple key at the start of `content` (plain word, or quoted without escapes) followed by `:` and
        /// a space or the end of the line; returns the key and what follows the colon.
        static func key(_ content: ArraySlice<UInt8>) -> (String, ArraySlice<UInt8>)? {
            guard let first = content.first else { return nil }
            let key: ArraySlice<UInt8>
            var rest: ArraySlice<UInt8>
            if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
                let body = content.dropFirst()
                guard let close = body.firstIndex(of: first) else { return nil }
                key = body[..<close]
                guard !key.contains(UInt8(ascii: "\\")) else { return nil }
                rest = body[(close + 1)...]
            } else {
                key = content.prefix { isPlainKeyByte($0) }
                guard !key.isEmpty, key.first != UInt8(ascii: "-") else { return nil }
                rest = content[key.endIndex...]
            }
            guard rest.first == UInt8(ascii: ":") else { return nil }
            rest = rest.dropFirst()
            guard rest.isEmpty || rest.first == UInt8(ascii: " ") else { return nil }
            return (String(decoding: key, as: UTF8.self), rest)
        }

        static func isPlainKeyByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"):
                true
            default: false
            }
        }

        /// The line holding the parent key of the entry on line `index`: the nearest line above that is
        /// less indented, or, for a list item, equally indented and not itself an item.
        func parent(of index: Int, indent: Int, isListItem: Bool) -> Int? {
            var candidate = index - 1
            while candidate >= 0 {
                defer { candidate -= 1 }
                if isBlank(candidate) { continue }
                let line = line(candidate)
                let lineIndent = self.indent(line)
                if lineIndent > indent { continue }
                if lineIndent < indent { return candidate }
                let item = entry(candidate)?.isListItem ?? false
                if isListItem && !item { return candidate }
                if isListItem != item { return nil }
            }
            return nil
        }

        /// The text before line `index`.
        func text(before index: Int) -> String { String(decoding: bytes[..<starts[index]], as: UTF8.self) }

        /// The text from the cut line to the end, after the ancestor keys on their own lines, with empty
        /// lines in between, so every line keeps its number.
        func text(from cut: Cut) -> String {
            var piece: [UInt8] = []
            piece.reserveCapacity(bytes.count - starts[cut.line] + cut.line)
            var next = 0
            for (line, _) in cut.ancestors {
                piece.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: line - next))
                piece.append(contentsOf: self.line(line))
                piece.append(UInt8(ascii: "\n"))
                next = line + 1
            }
            piece.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: cut.line - next))
            piece.append(contentsOf: bytes[starts[cut.line]...])
            return String(decoding: piece, as: UTF8.self)
        }
    }
}
