package org.lens4j.models.io;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Test helper: writes pickle opcodes by hand, as Python's pickle (protocol 2) lays them out. */
final class PickleBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A pickle starting with {@code PROTO 2}. */
    static PickleBytes protocol2() {
        return new PickleBytes().op(0x80).op(2);
    }

    /** Raw opcode or argument bytes. */
    PickleBytes op(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    /** Raw bytes (opcode arguments). */
    PickleBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** {@code GLOBAL 'module name'}. */
    PickleBytes global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** {@code BINUNICODE}. */
    PickleBytes str(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        op('X');
        int4(utf8.length);
        out.writeBytes(utf8);
        return this;
    }

    /** An int the way pickle writes it: BININT1, BININT2, BININT or LONG1. */
    PickleBytes integer(long value) {
        if (value >= 0 && value < 256) {
            return op('K', (int) value);
        }
        if (value >= 0 && value < 65536) {
            return op('M', (int) (value & 0xFF), (int) (value >>> 8));
        }
        if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
            op('J');
            int4((int) value);
            return this;
        }
        op(0x8a, 8);
        for (int i = 0; i < 8; i++) {
            out.write((int) (value >>> (8 * i)));
        }
        return this;
    }

    /** A tuple of ints: EMPTY_TUPLE, TUPLE1-3 or MARK ... TUPLE, as pickle chooses. */
    PickleBytes intTuple(long... values) {
        if (values.length == 0) {
            return op(')');
        }
        if (values.length > 3) {
            mark();
        }
        for (long value : values) {
            integer(value);
        }
        return values.length > 3 ? op('t') : op(0x84 + values.length);
    }

    PickleBytes mark() {
        return op('(');
    }

    PickleBytes tuple() {
        return op('t');
    }

    PickleBytes emptyTuple() {
        return op(')');
    }

    PickleBytes reduce() {
        return op('R');
    }

    PickleBytes binpersid() {
        return op('Q');
    }

    PickleBytes bool(boolean value) {
        return op(value ? 0x88 : 0x89);
    }

    PickleBytes none() {
        return op('N');
    }

    PickleBytes binfloat(double value) {
        op('G');
        long bits = Double.doubleToLongBits(value);
        for (int i = 7; i >= 0; i--) {
            out.write((int) (bits >>> (8 * i)));
        }
        return this;
    }

    PickleBytes emptyDict() {
        return op('}');
    }

    PickleBytes emptyList() {
        return op(']');
    }

    PickleBytes append() {
        return op('a');
    }

    PickleBytes setitem() {
        return op('s');
    }

    PickleBytes setitems() {
        return op('u');
    }

    PickleBytes build() {
        return op('b');
    }

    PickleBytes binput(int index) {
        return op('q', index);
    }

    PickleBytes binget(int index) {
        return op('h', index);
    }

    PickleBytes stop() {
        return op('.');
    }

    /** An empty {@code collections.OrderedDict()}, as pickle writes it. */
    PickleBytes orderedDict() {
        return global("collections", "OrderedDict").emptyTuple().reduce();
    }

    /**
     * A tensor exactly as {@code torch.save} pickles it: {@code _rebuild_tensor_v2((persistent id), offset,
     * size, stride, False, OrderedDict())}.
     */
    PickleBytes tensor(String storageClass, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2");
        mark();
        mark().str("storage").global("torch", storageClass).str(key).str("cpu").integer(numel).tuple();
        binpersid();
        integer(offset).intTuple(size).intTuple(stride).bool(false).orderedDict();
        return tuple().reduce();
    }

    private void int4(int value) {
        for (int i = 0; i < 4; i++) {
            out.write(value >>> (8 * i));
        }
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
