// Test images made in Kotlin with the JDK's own codecs (javax.imageio), and a hand-built EXIF block
// (big-endian TIFF: orientation, camera make, capture time with offset, GPS) to put into a JPEG, so
// the photo tests check the pipeline's output against inputs made independently of the core.

package app.fieldwork.jvmtest

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.ByteBuffer
import java.security.MessageDigest
import java.util.HexFormat
import javax.imageio.ImageIO

object Images {
    private val RED = Color(220, 20, 20)
    private val BLUE = Color(20, 60, 200)

    /** Blue, with a red top-left quadrant: where the red ends up shows how the image was turned. */
    fun quadrant(width: Int, height: Int, type: Int = BufferedImage.TYPE_INT_RGB): BufferedImage {
        val image = BufferedImage(width, height, type)
        val g = image.createGraphics()
        g.color = BLUE
        g.fillRect(0, 0, width, height)
        g.color = RED
        g.fillRect(0, 0, width / 2, height / 2)
        g.dispose()
        return image
    }

    /** A camera-like JPEG (JFIF, no EXIF) of [quadrant]. */
    fun quadrantJpeg(width: Int = 1200, height: Int = 900): ByteArray = encode(quadrant(width, height), "jpg")

    /**
     * A screenshot-like PNG with an alpha channel: transparent, with an opaque dark bar across the
     * middle third.
     */
    fun transparentPng(width: Int, height: Int): ByteArray {
        val image = BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB)
        val g = image.createGraphics()
        g.color = Color(0, 0, 0, 0)
        g.fillRect(0, 0, width, height)
        g.color = Color(30, 30, 30)
        g.fillRect(0, height / 3, width, height / 3)
        g.dispose()
        return encode(image, "png")
    }

    fun encode(image: BufferedImage, format: String): ByteArray {
        val out = ByteArrayOutputStream()
        check(ImageIO.write(image, format, out)) { "the JDK has no ImageIO writer for $format" }
        return out.toByteArray()
    }

    fun decode(bytes: ByteArray): BufferedImage =
        ImageIO.read(ByteArrayInputStream(bytes)) ?: throw AssertionFailed("ImageIO cannot read these ${bytes.size} bytes")

    fun decode(file: File): BufferedImage = decode(file.readBytes())

    fun sha256Hex(bytes: ByteArray): String = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes))

    fun isJpeg(bytes: ByteArray): Boolean =
        bytes.size > 4 && bytes[0] == 0xFF.toByte() && bytes[1] == 0xD8.toByte()

    /** Whether [text] occurs in [bytes] as ASCII. */
    fun contains(bytes: ByteArray, text: String): Boolean {
        val needle = text.toByteArray(Charsets.US_ASCII)
        return (0..bytes.size - needle.size).any { at -> needle.indices.all { bytes[at + it] == needle[it] } }
    }

    fun isRed(rgb: Int): Boolean = red(rgb) > 180 && green(rgb) < 80 && blue(rgb) < 80
    fun isBlue(rgb: Int): Boolean = red(rgb) < 80 && blue(rgb) > 150
    fun isWhite(rgb: Int): Boolean = red(rgb) > 240 && green(rgb) > 240 && blue(rgb) > 240
    fun isDark(rgb: Int): Boolean = red(rgb) < 70 && green(rgb) < 70 && blue(rgb) < 70

    private fun red(rgb: Int) = (rgb shr 16) and 0xFF
    private fun green(rgb: Int) = (rgb shr 8) and 0xFF
    private fun blue(rgb: Int) = rgb and 0xFF

    /** What goes into [withExif]. Degrees, minutes, seconds as whole numbers. */
    class Exif(
        val orientation: Int,
        val make: String,
        /** `YYYY:MM:DD HH:MM:SS`, and its offset from UTC such as `+08:00`. */
        val dateTimeOriginal: String,
        val offsetTimeOriginal: String,
        val latDms: Triple<Int, Int, Int>,
        val lonDms: Triple<Int, Int, Int>,
    )

    /** [jpeg] with an EXIF APP1 segment for [exif] right after its SOI marker. */
    fun withExif(jpeg: ByteArray, exif: Exif): ByteArray {
        check(isJpeg(jpeg)) { "not a JPEG" }
        val tiff = exifTiff(exif)
        val payload = "Exif\u0000\u0000".toByteArray(Charsets.US_ASCII) + tiff
        val length = payload.size + 2
        check(length <= 0xFFFF) { "EXIF too large for one segment" }
        val app1 = byteArrayOf(0xFF.toByte(), 0xE1.toByte(), (length shr 8).toByte(), length.toByte()) + payload
        return jpeg.copyOfRange(0, 2) + app1 + jpeg.copyOfRange(2, jpeg.size)
    }

    private class Entry(val tag: Int, val type: Int, val count: Int, val data: ByteArray)

    private fun ascii(tag: Int, text: String): Entry {
        val data = (text + "\u0000").toByteArray(Charsets.US_ASCII)
        return Entry(tag, 2, data.size, data)
    }

    private fun short(tag: Int, value: Int) = Entry(tag, 3, 1, ByteBuffer.allocate(2).putShort(value.toShort()).array())

    private fun long(tag: Int, value: Int) = Entry(tag, 4, 1, ByteBuffer.allocate(4).putInt(value).array())

    private fun rationals(tag: Int, dms: Triple<Int, Int, Int>): Entry {
        val buffer = ByteBuffer.allocate(24)
        for (v in listOf(dms.first, dms.second, dms.third)) buffer.putInt(v).putInt(1)
        return Entry(tag, 5, 3, buffer.array())
    }

    /** Bytes an IFD takes: count, entries, next-IFD offset, then values longer than 4 bytes. */
    private fun ifdSize(entries: List<Entry>): Int =
        2 + 12 * entries.size + 4 + entries.sumOf { if (it.data.size > 4) (it.data.size + 1) / 2 * 2 else 0 }

    private fun writeIfd(out: ByteBuffer, entries: List<Entry>) {
        var overflowAt = out.position() + 2 + 12 * entries.size + 4
        val overflow = mutableListOf<ByteArray>()
        out.putShort(entries.size.toShort())
        for (e in entries) {
            out.putShort(e.tag.toShort()).putShort(e.type.toShort()).putInt(e.count)
            if (e.data.size <= 4) {
                out.put(e.data)
                repeat(4 - e.data.size) { out.put(0) }
            } else {
                out.putInt(overflowAt)
                overflow += e.data
                overflowAt += (e.data.size + 1) / 2 * 2
            }
        }
        out.putInt(0)
        for (data in overflow) {
            out.put(data)
            if (data.size % 2 == 1) out.put(0)
        }
    }

    /** A big-endian ("MM") TIFF block: IFD0, then the EXIF sub-IFD, then the GPS IFD. */
    private fun exifTiff(exif: Exif): ByteArray {
        val exifIfd = listOf(ascii(0x9003, exif.dateTimeOriginal), ascii(0x9011, exif.offsetTimeOriginal))
        val gpsIfd = listOf(
            Entry(0x0000, 1, 4, byteArrayOf(2, 3, 0, 0)),
            ascii(0x0001, "N"),
            rationals(0x0002, exif.latDms),
            ascii(0x0003, "E"),
            rationals(0x0004, exif.lonDms),
        )
        // Pointer values do not change the sizes, so lay out with zeros first.
        fun ifd0(exifAt: Int, gpsAt: Int) =
            listOf(ascii(0x010F, exif.make), short(0x0112, exif.orientation), long(0x8769, exifAt), long(0x8825, gpsAt))
        val exifAt = 8 + ifdSize(ifd0(0, 0))
        val gpsAt = exifAt + ifdSize(exifIfd)
        val out = ByteBuffer.allocate(gpsAt + ifdSize(gpsIfd))
        out.put('M'.code.toByte()).put('M'.code.toByte()).putShort(42).putInt(8)
        writeIfd(out, ifd0(exifAt, gpsAt))
        writeIfd(out, exifIfd)
        writeIfd(out, gpsIfd)
        check(!out.hasRemaining()) { "EXIF layout is off by ${out.remaining()} bytes" }
        return out.array()
    }
}
