// A small test runner for the desktop JVM (no JUnit here: nothing can be downloaded from Maven).
// Each test runs in isolation; a failure is printed with its message and the run goes on.

package app.fieldwork.jvmtest

import app.fieldwork.ffi.ClientConfig
import app.fieldwork.ffi.FieldworkClient
import java.io.File
import java.nio.file.Files
import java.util.concurrent.BlockingQueue
import java.util.concurrent.TimeUnit

class AssertionFailed(message: String) : Exception(message)

class TestRun {
    var passed = 0
        private set
    var failed = 0
        private set

    fun test(name: String, body: () -> Unit) {
        try {
            body()
            passed++
            println("ok   - $name")
        } catch (t: Throwable) {
            failed++
            println("FAIL - $name: ${t::class.qualifiedName}: ${t.message}")
            if (t !is AssertionFailed) t.printStackTrace(System.out)
        }
    }
}

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionFailed(message())
}

fun <T> checkEq(expected: T, actual: T, what: String) =
    check(expected == actual) { "$what: expected <$expected>, got <$actual>" }

/** Runs [block], which must throw an [E]; returns it for further checks. */
inline fun <reified E : Throwable> assertThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionFailed("expected ${E::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}")
    }
    throw AssertionFailed("expected ${E::class.simpleName}, nothing was thrown")
}

/** The next item of [queue] matching [predicate], waiting at most [timeoutMs] in all. */
fun <T> awaitItem(queue: BlockingQueue<T>, timeoutMs: Long, what: String, predicate: (T) -> Boolean = { true }): T {
    val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs)
    while (true) {
        val left = deadline - System.nanoTime()
        if (left <= 0) throw AssertionFailed("timed out after $timeoutMs ms waiting for $what")
        val item = queue.poll(left, TimeUnit.NANOSECONDS) ?: continue
        if (predicate(item)) return item
    }
}

/** Temporary data directories, removed at the end of the run. */
object TempDirs {
    private val root: File = Files.createTempDirectory(
        File(System.getenv("FW_TMP") ?: System.getProperty("java.io.tmpdir")).toPath(), "fw-kotlin",
    ).toFile()

    private var n = 0

    fun fresh(name: String): String = File(root, "${name}-${n++}").path

    fun cleanup() {
        root.deleteRecursively()
    }
}

fun openClient(name: String, server: String? = null): FieldworkClient =
    openClientIn(TempDirs.fresh(name), name, server)

/** Opens a client whose files live in `dir` (one from [TempDirs.fresh]), for tests that read them. */
fun openClientIn(dir: String, name: String, server: String? = null): FieldworkClient =
    FieldworkClient.open(dir, ClientConfig(serverUrl = server, deviceName = "jvm-test $name"))

/** The files under `dir` whose bytes contain `text` (UTF-8): the database, its WAL, photo files. */
fun filesContaining(dir: String, text: String): List<String> {
    val needle = text.toByteArray(Charsets.UTF_8)
    return File(dir).walkTopDown().filter { it.isFile }.filter { file ->
        val bytes = file.readBytes()
        (0..bytes.size - needle.size).any { start -> needle.indices.all { bytes[start + it] == needle[it] } }
    }.map { it.path }.toList()
}
