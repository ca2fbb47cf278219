import GatewayModel

/// Renders diagnostics for people (`FILE:LINE:COLUMN: error: MESSAGE`) and for machines (JSON).
public enum DiagnosticFormatter {
    /// The most diagnostics printed; the rest are counted in a last line.
    public static let maximumShown = 200

    /// One line per diagnostic, sorted, capped at ``maximumShown``.
    public static func text(_ diagnostics: [Diagnostic]) -> String {
        let sorted = diagnostics.sorted()
        var lines = sorted.prefix(maximumShown).map(line)
        if sorted.count > maximumShown { lines.append("... and \(sorted.count - maximumShown) more") }
        return lines.joined(separator: "\n")
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE (HINT)`.
    public static func line(_ diagnostic: Diagnostic) -> String {
        var text = "\(diagnostic.location): \(diagnostic.severity.rawValue): \(diagnostic.message)"
        if let hint = diagnostic.hint { text += " (\(hint))" }
        return text
    }

    /// A JSON document: `{"valid": Bool, "errors": N, "warnings": N, "diagnostics": [...]}`.
    public static func json(_ diagnostics: [Diagnostic]) -> String {
        let sorted = diagnostics.sorted()
        let errors = sorted.filter { $0.severity == .error }.count
        let items = sorted.map { diagnostic -> String in
            var fields = [
                "\"file\":\(quote(diagnostic.location.file))", "\"line\":\(diagnostic.location.line)",
                "\"column\":\(diagnostic.location.column)", "\"severity\":\(quote(diagnostic.severity.rawValue))",
                "\"code\":\(quote(diagnostic.code.rawValue))", "\"message\":\(quote(diagnostic.message))",
            ]
            if let hint = diagnostic.hint { fields.append("\"hint\":\(quote(hint))") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return
            "{\"valid\":\(errors == 0),\"errors\":\(errors),\"warnings\":\(sorted.count - errors),\"diagnostics\":[\(items.joined(separator: ","))]}"
    }

    /// A JSON string literal.
    public static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func String(format value: UInt32) -> Swift.String {
        let hex = Swift.String(value, radix: 16)
        return "\\u" + Swift.String(repeating: "0", count: 4 - hex.count) + hex
    }
}
