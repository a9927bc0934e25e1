import Foundation
import GigiBase

/// Loads `Vectors/<name>` shipped as a test resource and decodes it as JSON.
func loadVectors<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let url = Bundle.module.url(forResource: "Vectors/\(name)", withExtension: nil)!
    return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
}

func hex(_ text: String) -> [UInt8] {
    Hex.decode(text)!
}
