#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain pthread mutex (the environment's in-process writer lock).
final class PThreadMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A pthread read-write lock: transactions hold it shared, a map resize holds it
/// exclusively (LMDB requires that no transaction of this process is active then).
final class PThreadRWLock: @unchecked Sendable {
    private let rwlock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() { pthread_rwlock_init(rwlock, nil) }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func lockShared() { pthread_rwlock_rdlock(rwlock) }
    func lockExclusive() { pthread_rwlock_wrlock(rwlock) }
    func unlock() { pthread_rwlock_unlock(rwlock) }
}
