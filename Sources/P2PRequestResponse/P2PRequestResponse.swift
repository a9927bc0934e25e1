// P2PRequestResponse: Gigi's own request/response protocols on libp2p streams.
//
// Wire format (per protocol id, e.g. `/gigi/dm/1.0.0`): one request per stream.
// The client opens a stream, writes `uvarint(length) ‖ CBOR(request)` and
// half-closes; the server writes `uvarint(length) ‖ CBOR(response)` and
// half-closes. A server that cannot or will not answer resets the stream.
// CBOR is GigiCBOR's deterministic Codable encoding; the uvarint is
// multiformats/unsigned-varint, as libp2p uses for every length prefix.
// This is the shape of rust-libp2p's request-response behaviour with a CBOR
// codec, and of the spec's "one stream per request" advice (libp2p/specs
// connections/README.md): no multiplexing of requests inside a stream.
//
// Goals: both directions bounded in size (announced length checked before a
// byte of the body is read) and in time; decoding with limits sized to the
// message; a typed API for both sides.
// Non-goals: retries, request ids, streaming bodies, error payloads (a
// protocol that needs to report failure puts it in its Response type).

import GigiBase
import GigiCBOR
import NIOCore
import P2PCore
import P2PHost

/// Defaults of the request/response helper.
public enum RequestResponse {
    /// Default bound on an encoded request.
    public static let defaultMaxRequestSize = 64 * 1024
    /// Default bound on an encoded response.
    public static let defaultMaxResponseSize = 1 << 20
    /// Default time for a whole exchange (client) or for reading a request and answering it (server).
    public static let defaultTimeout: Duration = .seconds(30)
    /// Default number of requests served at once per peer, per protocol.
    public static let defaultMaxConcurrentPerPeer = 16
    /// Default number of requests served at once from all peers, per protocol
    /// (with the default request size: at most 8 MiB of buffered requests).
    public static let defaultMaxConcurrent = 128
    /// Deepest CBOR nesting accepted in a message.
    public static let maxDepth = 32
}

/// Why a request failed.
public enum RequestResponseError: UserFacingError, Equatable {
    /// Our request encodes to more than the limit; nothing was sent.
    case requestTooLarge(size: Int, limit: Int)
    /// The peer announced a response larger than our limit.
    case responseTooLarge(limit: Int)
    /// No response within the timeout.
    case timeout(Duration)
    /// The peer closed or reset the stream without a response (it refused, failed, or dropped the request).
    case noResponse
    /// The response is not valid CBOR of the expected type.
    case malformedResponse(String)
    /// Our value could not be encoded as CBOR.
    case encodingFailed(String)

    public var message: String {
        switch self {
        case .requestTooLarge(let size, let limit):
            return "The request is \(size) bytes, more than the \(limit) bytes allowed; nothing was sent."
        case .responseTooLarge(let limit):
            return "The peer's response is larger than \(limit) bytes; it was refused."
        case .timeout(let limit):
            return "The peer did not answer within \(limit); it may be busy or unreachable."
        case .noResponse:
            return "The peer closed the stream without answering the request."
        case .malformedResponse(let why):
            return "The peer's response is malformed: \(why)."
        case .encodingFailed(let why):
            return "The request could not be encoded (\(why)); this is an internal error in gigi."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .requestTooLarge: return .usage
        case .responseTooLarge, .malformedResponse: return .dataError
        case .timeout, .noResponse: return .unavailable
        case .encodingFailed: return .software
        }
    }
}

/// Registers request handlers on a host and sends requests to peers.
public struct RequestResponseService: Sendable {
    public let host: P2PHost

    public init(host: P2PHost) {
        self.host = host
    }

    /// Serves `protocolID`: every inbound stream carries one `Request`, answered
    /// with `handler`'s `Response`. A request over `maxRequestSize`, one that
    /// does not decode, a handler that throws, a response over
    /// `maxResponseSize`, an exchange longer than `timeout`, or a request
    /// beyond `maxConcurrentPerPeer` / `maxConcurrent` in progress resets the stream.
    public func register<Request: Decodable & Sendable, Response: Encodable & Sendable>(
        protocol protocolID: String,
        maxRequestSize: Int = RequestResponse.defaultMaxRequestSize,
        maxResponseSize: Int = RequestResponse.defaultMaxResponseSize,
        timeout: Duration = RequestResponse.defaultTimeout,
        maxConcurrentPerPeer: Int = RequestResponse.defaultMaxConcurrentPerPeer,
        maxConcurrent: Int = RequestResponse.defaultMaxConcurrent,
        handler: @escaping @Sendable (Request, PeerID) async throws -> Response
    ) async {
        let slots = RequestSlots(ConcurrencyLimits(perKey: maxConcurrentPerPeer, total: maxConcurrent))
        await host.setHandler(protocolID) { stream in
            let peer = stream.remotePeer
            guard await slots.acquire(peer) else { return await stream.reset() }
            do {
                try await withDeadline(after: timeout, clock: ContinuousClock(), onTimeout: { await stream.reset() },
                                       timeoutError: { RequestResponseError.timeout(timeout) }) {
                    guard let body = try await stream.readLengthPrefixed(maxSize: maxRequestSize) else {
                        throw RequestResponseError.noResponse
                    }
                    let request = try RequestResponseService.decode(Request.self, from: body, limit: maxRequestSize)
                    let response = try await handler(request, stream.remotePeer)
                    let bytes = try RequestResponseService.encode(response)
                    guard bytes.count <= maxResponseSize else {
                        throw RequestResponseError.responseTooLarge(limit: maxResponseSize)
                    }
                    try await stream.writeLengthPrefixed(bytes)
                    try await stream.closeWrite()
                }
            } catch {
                await stream.reset()
            }
            await slots.release(peer)
        }
    }

    /// Sends `request` to `peer` on a new stream speaking `protocolID` (over a
    /// live connection or a dial of the peer's known addresses) and returns the response.
    /// - Parameter timeout: bounds the exchange once the stream is open (the host bounds the opening).
    /// - Throws: `RequestResponseError`, or the host's error if no stream could be opened.
    public func request<Request: Encodable & Sendable, Response: Decodable & Sendable>(
        _ request: Request, to peer: PeerID, protocol protocolID: String,
        as responseType: Response.Type = Response.self,
        maxRequestSize: Int = RequestResponse.defaultMaxRequestSize,
        maxResponseSize: Int = RequestResponse.defaultMaxResponseSize,
        timeout: Duration = RequestResponse.defaultTimeout
    ) async throws -> Response {
        let bytes = try RequestResponseService.encode(request)
        guard bytes.count <= maxRequestSize else {
            throw RequestResponseError.requestTooLarge(size: bytes.count, limit: maxRequestSize)
        }
        let stream = try await host.newStream(to: peer, protocols: [protocolID])
        do {
            return try await withDeadline(after: timeout, clock: ContinuousClock(), onTimeout: { await stream.reset() },
                                          timeoutError: { RequestResponseError.timeout(timeout) }) {
                let body: ByteBuffer?
                do {
                    try await stream.writeLengthPrefixed(bytes)
                    try await stream.closeWrite()
                    body = try await stream.readLengthPrefixed(maxSize: maxResponseSize)
                } catch let error as P2PStreamError {
                    // A reset may hit our write: the server refuses a request as soon as its length is announced.
                    switch error {
                    case .messageTooLarge: throw RequestResponseError.responseTooLarge(limit: maxResponseSize)
                    case .malformedLengthPrefix: throw RequestResponseError.malformedResponse("bad length prefix")
                    default: throw RequestResponseError.noResponse
                    }
                }
                guard let body else { throw RequestResponseError.noResponse }
                do {
                    return try RequestResponseService.decode(Response.self, from: body, limit: maxResponseSize)
                } catch let error as CBORError {
                    throw RequestResponseError.malformedResponse("\(error)")
                } catch let error as DecodingError {
                    throw RequestResponseError.malformedResponse(RequestResponseService.describe(error))
                }
            }
        } catch {
            await stream.reset()
            throw error
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        do { return try CBOREncoder().encode(value) } catch {
            throw RequestResponseError.encodingFailed("\(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer, limit: Int) throws -> T {
        var options = CBORDecodingOptions()
        options.maxInputSize = limit
        options.maxLength = limit
        options.maxItems = limit
        options.maxDepth = RequestResponse.maxDepth
        return try body.withUnsafeReadableBytes { raw in
            try CBORDecoder(options: options).decode(T.self, from: raw)
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The requests in progress for one registered protocol.
actor RequestSlots {
    private var limits: ConcurrencyLimits<PeerID>

    init(_ limits: ConcurrencyLimits<PeerID>) { self.limits = limits }

    func acquire(_ peer: PeerID) -> Bool { limits.acquire(peer) }
    func release(_ peer: PeerID) { limits.release(peer) }
}
