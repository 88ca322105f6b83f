package org.lens4j.models.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Test helper: writes zip archives byte by byte (no ZIP64), so tests can also write the lies a hostile
 * archive tells: wrong sizes and CRCs, compressed entries, entries sharing the same bytes.
 */
final class ZipBytes {

    /**
     * One entry.
     *
     * @param name the entry name
     * @param data the uncompressed bytes
     * @param deflate whether to compress the data
     * @param declaredSize the uncompressed size to write in the headers, or -1 for the true size
     * @param crcXor bits to flip in the written CRC (0 for the true CRC)
     * @param sameBytesAs the name of an earlier entry whose bytes this entry points at, or null
     */
    record Entry(String name, byte[] data, boolean deflate, long declaredSize, int crcXor, String sameBytesAs) {

        static Entry stored(String name, byte[] data) {
            return new Entry(name, data, false, -1, 0, null);
        }
    }

    private record Written(long offset, long crc, long compressedSize, long size, int method) {}

    private ZipBytes() {}

    static byte[] write(List<Entry> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<String, Written> written = new HashMap<>();
        List<Map.Entry<Entry, Written>> central = new ArrayList<>();
        for (Entry entry : entries) {
            Written w;
            if (entry.sameBytesAs() != null) {
                w = written.get(entry.sameBytesAs());
            } else {
                CRC32 crc = new CRC32();
                crc.update(entry.data());
                byte[] body = entry.deflate() ? deflate(entry.data()) : entry.data();
                long size = entry.declaredSize() >= 0 ? entry.declaredSize() : entry.data().length;
                // A stored entry's compressed size is its size, lies included.
                long compressedSize = entry.deflate() ? body.length : size;
                w = new Written(out.size(), crc.getValue() ^ entry.crcXor(), compressedSize, size,
                        entry.deflate() ? 8 : 0);
                byte[] name = entry.name().getBytes(StandardCharsets.UTF_8);
                ByteBuffer local = le(30 + name.length);
                local.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) w.method())
                        .putShort((short) 0).putShort((short) 0x21).putInt((int) w.crc())
                        .putInt((int) w.compressedSize()).putInt((int) w.size())
                        .putShort((short) name.length).putShort((short) 0).put(name);
                out.writeBytes(local.array());
                out.writeBytes(body);
                written.put(entry.name(), w);
            }
            central.add(Map.entry(entry, w));
        }
        long centralStart = out.size();
        for (Map.Entry<Entry, Written> item : central) {
            Written w = item.getValue();
            byte[] name = item.getKey().name().getBytes(StandardCharsets.UTF_8);
            ByteBuffer header = le(46 + name.length);
            header.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
                    .putShort((short) w.method()).putShort((short) 0).putShort((short) 0x21).putInt((int) w.crc())
                    .putInt((int) w.compressedSize()).putInt((int) w.size())
                    .putShort((short) name.length).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putInt(0).putInt((int) w.offset()).put(name);
            out.writeBytes(header.array());
        }
        long centralSize = out.size() - centralStart;
        ByteBuffer end = le(22);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) central.size())
                .putShort((short) central.size()).putInt((int) centralSize).putInt((int) centralStart)
                .putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] deflate(byte[] data) {
        Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
        deflater.setInput(data);
        deflater.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[1 << 16];
        while (!deflater.finished()) {
            out.write(chunk, 0, deflater.deflate(chunk));
        }
        deflater.end();
        return out.toByteArray();
    }
}
