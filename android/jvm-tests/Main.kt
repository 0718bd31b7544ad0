// Entry point of the desktop-JVM suite: runs every test, prints one line per test and a summary
// line `kotlin: N passed, M failed` that scripts/test-bindings.sh adds up.

package app.fieldwork.jvmtest

import kotlin.system.exitProcess

fun main() {
    // The photo tests draw and decode images with java.awt/javax.imageio: no display needed.
    System.setProperty("java.awt.headless", "true")
    val run = TestRun()
    try {
        offlineTests(run)
        photoTests(run)
        syncTests(run)
        photoSyncTests(run)
    } finally {
        TempDirs.cleanup()
    }
    println("kotlin: ${run.passed} passed, ${run.failed} failed")
    exitProcess(if (run.failed == 0) 0 else 1)
}
