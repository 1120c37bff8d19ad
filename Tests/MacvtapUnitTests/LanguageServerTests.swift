import Foundation
import MacvtapLanguageServer
import Testing

/// The server in-process, message by message: what a broken client sends never stops it.
@Suite("Language server: framing and bad messages")
struct LanguageServerTests {
    static func frame(_ json: String) -> [UInt8] { Array("Content-Length: \(json.utf8.count)\r\n\r\n\(json)".utf8) }

    /// The JSON bodies of framed output.
    static func messages(_ bytes: [UInt8]) -> [[String: Any]] {
        var rest = bytes[...]
        var result: [[String: Any]] = []
        while let header = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let length = Int(String(decoding: rest[..<header.lowerBound], as: UTF8.self).split(separator: " ").last!)!
            let body = rest[header.upperBound..<(header.upperBound + length)]
            result.append(try! JSONSerialization.jsonObject(with: Data(body)) as! [String: Any])
            rest = rest[(header.upperBound + length)...]
        }
        return result
    }

    @Test func badMessagesGetErrorsAndTheServerGoesOn() throws {
        let server = LanguageServer()
        let early = Self.messages(server.receive(Self.frame(#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#)))
        #expect((early.first?["error"] as? [String: Any])?["code"] as? Int == -32002)
        let garbage = Self.messages(server.receive(Self.frame("{not json")))
        #expect((garbage.first?["error"] as? [String: Any])?["code"] as? Int == -32700)
        let headerless = Self.messages(server.receive(Array("Content-Type: x\r\n\r\n".utf8)))
        #expect((headerless.first?["error"] as? [String: Any])?["code"] as? Int == -32700)
        let initialized = Self.messages(server.receive(Self.frame(#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"capabilities":{}}}"#)))
        #expect(((initialized.first?["result"] as? [String: Any])?["serverInfo"] as? [String: Any])?["name"] as? String == "virt-macvtap")
        let badParams = Self.messages(server.receive(Self.frame(#"{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{"position":7}}"#)))
        #expect((badParams.first?["error"] as? [String: Any])?["code"] as? Int == -32602)
        let unknown = Self.messages(server.receive(Self.frame(#"{"jsonrpc":"2.0","id":4,"method":"textDocument/rename","params":{}}"#)))
        #expect((unknown.first?["error"] as? [String: Any])?["code"] as? Int == -32601)
        // A message split across reads is put back together.
        let open = Self.frame(#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"untitled:a","languageId":"xml","version":1,"text":"<domain"}}}"#)
        #expect(server.receive(Array(open.prefix(30))).isEmpty)
        let published = Self.messages(server.receive(Array(open.dropFirst(30))))
        let diagnostics = (published.first?["params"] as? [String: Any])?["diagnostics"] as? [[String: Any]]
        #expect(diagnostics?.contains { $0["code"] as? String == "xml-malformed" } == true, "\(published)")
        #expect(server.exitStatus == nil)
        _ = server.receive(Self.frame(#"{"jsonrpc":"2.0","method":"exit"}"#))
        #expect(server.exitStatus == 1)  // exit without shutdown
    }
}
