/// A compact binary form of any `Codable` value, for data only this program reads back (the lint
/// cache): values in declaration order without keys, integers as 8 little-endian bytes, strings
/// and collections length-prefixed, an optional as a presence byte. The types' own `Codable`
/// conformances are the format, so what is stored cannot drift from what is read: there is no
/// second hand-written codec. Not a stable interchange format: a type change changes it (the
/// cache's format version covers that).
package enum CompactCoding {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package static func encode(_ value: some Encodable) throws -> [UInt8] {
        let storage = Storage()
        try value.encode(to: CompactEncoder(storage: storage))
        return storage.bytes
    }

    package static func decode<Value: Decodable>(_ type: Value.Type, from bytes: ArraySlice<UInt8>) throws -> Value {
        let reader = Reader(bytes: bytes)
        let value = try Value(from: CompactDecoder(reader: reader))
        guard reader.offset == bytes.endIndex else { throw Failure(description: "\(bytes.endIndex - reader.offset) bytes left over") }
        return value
    }

    final class Storage {
        var bytes: [UInt8]

        init() {
            bytes = []
            bytes.reserveCapacity(512)
        }

        func integer(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func string(_ value: String) {
            let utf8 = value.utf8
            integer(Int64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    final class Reader {
        let bytes: ArraySlice<UInt8>
        var offset: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            offset = bytes.startIndex
        }

        func byte() throws -> UInt8 {
            guard offset < bytes.endIndex else { throw Failure(description: "the data ends early") }
            defer { offset += 1 }
            return bytes[offset]
        }
        func integer() throws -> Int64 {
            guard offset + 8 <= bytes.endIndex else { throw Failure(description: "the data ends early") }
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += 8
            return Int64(bitPattern: value)
        }
        func count() throws -> Int {
            let count = try integer()
            guard count >= 0, count <= bytes.endIndex - offset else { throw Failure(description: "a length of \(count) does not fit") }
            return Int(count)
        }
        func string() throws -> String {
            let count = try count()
            defer { offset += count }
            return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
        }
    }
}

private protocol EncodableOptional {
    var wrappedEncodable: (any Encodable)? { get }
}

extension Optional: EncodableOptional where Wrapped: Encodable {
    fileprivate var wrappedEncodable: (any Encodable)? { self }
}

private struct CompactEncoder: Encoder {
    let storage: CompactCoding.Storage
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(storage: storage))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { UnkeyedContainer(storage: storage) }
    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValue(storage: storage) }

    /// Values of every shape, written the same way whichever container holds them.
    struct SingleValue: SingleValueEncodingContainer {
        let storage: CompactCoding.Storage
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() { storage.bytes.append(0) }
        mutating func encode(_ value: Bool) { storage.bytes.append(value ? 1 : 0) }
        mutating func encode(_ value: String) { storage.string(value) }
        mutating func encode(_ value: Double) { storage.integer(Int64(bitPattern: value.bitPattern)) }
        mutating func encode(_ value: Float) { encode(Double(value)) }
        mutating func encode(_ value: Int) { storage.integer(Int64(value)) }
        mutating func encode(_ value: Int8) { storage.integer(Int64(value)) }
        mutating func encode(_ value: Int16) { storage.integer(Int64(value)) }
        mutating func encode(_ value: Int32) { storage.integer(Int64(value)) }
        mutating func encode(_ value: Int64) { storage.integer(value) }
        mutating func encode(_ value: UInt) { storage.integer(Int64(bitPattern: UInt64(value))) }
        mutating func encode(_ value: UInt8) { storage.integer(Int64(value)) }
        mutating func encode(_ value: UInt16) { storage.integer(Int64(value)) }
        mutating func encode(_ value: UInt32) { storage.integer(Int64(value)) }
        mutating func encode(_ value: UInt64) { storage.integer(Int64(bitPattern: value)) }
        mutating func encode(_ value: some Encodable) throws {
            // An optional inside a collection or a generic value gets its presence byte too
            // (its own conformance writes a present value bare).
            if let optional = value as? any EncodableOptional {
                guard let wrapped = optional.wrappedEncodable else { return storage.bytes.append(0) }
                storage.bytes.append(1)
                return try wrapped.encode(to: CompactEncoder(storage: storage))
            }
            try value.encode(to: CompactEncoder(storage: storage))
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: CompactCoding.Storage
        var codingPath: [any CodingKey] { [] }

        init(storage: CompactCoding.Storage) { self.storage = storage }

        mutating func encodeNil(forKey key: Key) { storage.bytes.append(0) }
        // A property's value as it is: a keyed optional comes through encodeIfPresent below.
        mutating func encode(_ value: some Encodable, forKey key: Key) throws { try value.encode(to: CompactEncoder(storage: storage)) }
        mutating func encode(_ value: Bool, forKey key: Key) { storage.bytes.append(value ? 1 : 0) }
        mutating func encode(_ value: String, forKey key: Key) { storage.string(value) }
        mutating func encode(_ value: Int, forKey key: Key) { storage.integer(Int64(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) { storage.integer(value) }
        mutating func encode(_ value: UInt64, forKey key: Key) { storage.integer(Int64(bitPattern: value)) }
        // Synthesized conformances write optionals with encodeIfPresent, whose default skips a
        // nil: here every optional is a presence byte, then the value.
        mutating func encodeIfPresent(_ value: (some Encodable)?, forKey key: Key) throws {
            guard let value else { return storage.bytes.append(0) }
            storage.bytes.append(1)
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) {
            guard let value else { return storage.bytes.append(0) }
            storage.bytes.append(contentsOf: [1, value ? 1 : 0])
        }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) {
            guard let value else { return storage.bytes.append(0) }
            storage.bytes.append(1)
            storage.string(value)
        }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) {
            guard let value else { return storage.bytes.append(0) }
            storage.bytes.append(1)
            storage.integer(Int64(value))
        }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

        private mutating func present(_ value: (some Encodable)?, _ key: Key) throws {
            guard let value else { return storage.bytes.append(0) }
            storage.bytes.append(1)
            try encode(value, forKey: key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(KeyedContainer<NestedKey>(storage: storage))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { UnkeyedContainer(storage: storage) }
        mutating func superEncoder() -> any Encoder { CompactEncoder(storage: storage) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { CompactEncoder(storage: storage) }
    }

    /// A collection: its count first, patched in place as elements are added (an array's
    /// conformance does not say how many there will be).
    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let storage: CompactCoding.Storage
        let countOffset: Int
        var codingPath: [any CodingKey] { [] }
        private(set) var count = 0

        init(storage: CompactCoding.Storage) {
            self.storage = storage
            countOffset = storage.bytes.count
            storage.integer(0)
        }

        private mutating func added() {
            count += 1
            withUnsafeBytes(of: Int64(count).littleEndian) { raw in
                for (index, byte) in raw.enumerated() { storage.bytes[countOffset + index] = byte }
            }
        }

        mutating func encodeNil() {
            storage.bytes.append(0)
            added()
        }
        mutating func encode(_ value: some Encodable) throws {
            var single = SingleValue(storage: storage)
            try single.encode(value)
            added()
        }
        mutating func encode(_ value: String) {
            storage.string(value)
            added()
        }
        mutating func encode(_ value: Int) {
            storage.integer(Int64(value))
            added()
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            added()
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(storage: storage))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            added()
            return UnkeyedContainer(storage: storage)
        }
        mutating func superEncoder() -> any Encoder {
            added()
            return CompactEncoder(storage: storage)
        }
    }
}

private struct CompactDecoder: Decoder {
    let reader: CompactCoding.Reader
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedContainer<Key>(reader: reader))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { try UnkeyedContainer(reader: reader) }
    func singleValueContainer() -> any SingleValueDecodingContainer { SingleValue(reader: reader) }

    struct SingleValue: SingleValueDecodingContainer {
        let reader: CompactCoding.Reader
        var codingPath: [any CodingKey] { [] }

        func decodeNil() -> Bool {
            // Only a presence byte says nil; the caller reads the value after a 1.
            (try? reader.byte()) == 0
        }
        func decode(_ type: Bool.Type) throws -> Bool { try reader.byte() != 0 }
        func decode(_ type: String.Type) throws -> String { try reader.string() }
        func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: UInt64(bitPattern: try reader.integer())) }
        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
        func decode(_ type: Int.Type) throws -> Int { try exactly(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try exactly(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try exactly(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try exactly(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer() }
        func decode(_ type: UInt.Type) throws -> UInt { UInt(UInt64(bitPattern: try reader.integer())) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try exactly(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try exactly(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try exactly(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { UInt64(bitPattern: try reader.integer()) }
        func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try Value(from: CompactDecoder(reader: reader)) }

        private func exactly<Integer: FixedWidthInteger>(_ type: Integer.Type) throws -> Integer {
            let stored = try reader.integer()
            guard let value = Integer(exactly: stored) else { throw CompactCoding.Failure(description: "\(stored) is not a \(type)") }
            return value
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let reader: CompactCoding.Reader
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        private var value: SingleValue { SingleValue(reader: reader) }

        // Every key is there: an optional's presence byte is read by decodeNil.
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { try reader.byte() == 0 }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value.decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try value.decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value.decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value.decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value.decode(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value.decode(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value.decode(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value.decode(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value.decode(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value.decode(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value.decode(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value.decode(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value.decode(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value.decode(type) }
        func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value { try value.decode(type) }

        // Every optional is a presence byte, then its value (the encoder's encodeIfPresent). The
        // standard library's default asks the runtime about the type on each call: that was half
        // of decoding a host's summary pack.
        func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
            try reader.byte() == 0 ? nil : try value.decode(type)
        }
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try reader.byte() == 0 ? nil : try value.decode(type) }
        func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try reader.byte() == 0 ? nil : try value.decode(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(KeyedContainer<NestedKey>(reader: reader))
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try UnkeyedContainer(reader: reader) }
        func superDecoder() -> any Decoder { CompactDecoder(reader: reader) }
        func superDecoder(forKey key: Key) -> any Decoder { CompactDecoder(reader: reader) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let reader: CompactCoding.Reader
        var codingPath: [any CodingKey] { [] }
        let count: Int?
        private(set) var currentIndex = 0
        var isAtEnd: Bool { currentIndex >= count! }

        init(reader: CompactCoding.Reader) throws {
            self.reader = reader
            count = try reader.count()
        }

        mutating func decodeNil() throws -> Bool {
            let isNil = try reader.byte() == 0
            if isNil { currentIndex += 1 } else { reader.offset -= 1 }
            return isNil
        }
        mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
            guard !isAtEnd else { throw CompactCoding.Failure(description: "a collection has fewer elements than asked for") }
            defer { currentIndex += 1 }
            return try SingleValue(reader: reader).decode(type)
        }
        mutating func decode(_ type: String.Type) throws -> String {
            guard !isAtEnd else { throw CompactCoding.Failure(description: "a collection has fewer elements than asked for") }
            defer { currentIndex += 1 }
            return try reader.string()
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return KeyedDecodingContainer(KeyedContainer<NestedKey>(reader: reader))
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return try UnkeyedContainer(reader: reader)
        }
        mutating func superDecoder() -> any Decoder {
            currentIndex += 1
            return CompactDecoder(reader: reader)
        }
    }
}
