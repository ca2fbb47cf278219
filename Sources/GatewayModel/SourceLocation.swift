/// A position in a policy file: the `FILE:LINE:COLUMN` that diagnostics and decision traces name.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The file as it was given on the command line or in `POLICY_PATH`.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars as libyaml does.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
