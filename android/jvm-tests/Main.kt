// Entry point of the desktop-JVM suite: runs every test, prints one line per test and a summary
// line `kotlin: N passed, M failed` that scripts/test-bindings.sh adds up.

package app.fieldwork.jvmtest

import kotlin.system.exitProcess

fun main() {
    val run = TestRun()
    try {
        offlineTests(run)
        syncTests(run)
    } finally {
        TempDirs.cleanup()
    }
    println("kotlin: ${run.passed} passed, ${run.failed} failed")
    exitProcess(if (run.failed == 0) 0 else 1)
}
