import Foundation

/// The text of one policy file and the path it is reported under.
public struct PolicySource: Sendable, Hashable {
    /// The path as given (relative paths stay relative, so diagnostics match what the user typed).
    public var path: String
    /// The file's contents.
    public var text: String

    /// Creates a source from text.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// Finds and reads policy files: a file, or the `*.yaml` / `*.yml` files directly inside a folder
/// (sorted by name; `tests/` and hidden entries such as Kubernetes' `..data` are skipped).
public enum PolicyLoader {
    /// Why policy sources could not be read.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What went wrong and how to fix it.
        public let description: String
    }

    /// Reads every policy file under `paths`.
    /// - Throws: ``LoadError`` when a path does not exist, cannot be read or holds no policy file.
    public static func load(_ paths: [String]) throws(LoadError) -> [PolicySource] {
        var sources: [PolicySource] = []
        for path in paths {
            for file in try files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw LoadError(description: "cannot read '\(file)': check that it exists and is readable")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw LoadError(description: "'\(file)' is not UTF-8 text")
                }
                sources.append(PolicySource(path: file, text: text))
            }
        }
        return sources
    }

    /// The policy files a path names.
    public static func files(at path: String) throws(LoadError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LoadError(description: "no such file or folder: '\(path)'")
        }
        guard isDirectory.boolValue else { return [path] }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw LoadError(description: "cannot list '\(path)': \(error.localizedDescription)")
        }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        let files = entries.filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix(".") }.sorted().map { prefix + $0 }
        var result: [String] = []
        for file in files {
            var fileIsDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &fileIsDirectory), !fileIsDirectory.boolValue { result.append(file) }
        }
        guard !result.isEmpty else {
            throw LoadError(description: "'\(path)' holds no *.yaml policy file (tests/ is not policy)")
        }
        return result
    }
}
