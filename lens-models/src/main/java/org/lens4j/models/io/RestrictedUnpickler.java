package org.lens4j.models.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;
import org.lens4j.core.io.SafetensorsDtype;

/**
 * A Pyrolite unpickler that builds only what a PyTorch state dict needs, in the spirit of {@code
 * torch.load(weights_only=True)}. Nothing named in the pickle is ever looked up or run: each global is
 * matched against a fixed allow-list of Java stand-ins and any other global is refused by name.
 *
 * <p>Pyrolite does the opcode mechanics; this class overrides the opcodes where Pyrolite's defaults are
 * unsafe or lossy for hostile input: globals (Pyrolite would build a dictionary for any unknown class),
 * calls, object state, dictionaries and sets (kept in pickle order; lists, dicts and sets refused as keys,
 * as Python does), protocol-0 text opcodes and opcodes that make
 * arbitrary objects (refused), length-prefixed data (checked against the bytes left before anything is
 * allocated), and an opcode budget that bounds the memory a small pickle can ask for.
 *
 * <p>Result objects: dict and {@code OrderedDict} → {@link LinkedHashMap}, list → {@link ArrayList},
 * tuple and {@code torch.Size} → {@code Object[]}, set and frozenset → {@link LinkedHashSet},
 * {@code bytes} → {@code byte[]}, str → {@link String}, int → {@link Integer}, {@link Long} or {@code
 * BigInteger}, float → {@link Double}, bool → {@link Boolean}, None → {@code null}, torch dtype → {@link
 * SafetensorsDtype}, tensor → {@link TensorRef} (not loaded).
 */
final class RestrictedUnpickler extends Unpickler {

    /** A global the pickle may call: a Java stand-in for a Python callable. */
    private record Callable(String name, Function<Object[], Object> body) {}

    /** A legacy typed-storage class, as torch writes into persistent ids. */
    private record StorageType(String name, SafetensorsDtype dtype) {}

    private static final Map<String, Object> GLOBALS = allowedGlobals();

    private final ByteArrayInputStream pickle;
    private final long maxOpcodes;
    private final Map<String, StorageRef> storages = new LinkedHashMap<>();
    private long opcodes;

    private RestrictedUnpickler(ByteArrayInputStream pickle, long maxOpcodes) {
        this.pickle = pickle;
        this.maxOpcodes = maxOpcodes;
    }

    /**
     * Unpickles a checkpoint's {@code data.pkl}.
     *
     * @param bytes the pickle
     * @param maxOpcodes the most opcodes to run
     * @return the top-level object
     * @throws PickleException (or another unchecked exception) if the pickle is malformed or refused
     * @throws IOException if the pickle ends early
     */
    static Object load(byte[] bytes, long maxOpcodes) throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        return new RestrictedUnpickler(in, maxOpcodes).load(in);
    }

    /**
     * Returns the names of the globals a pickle may use, sorted.
     *
     * @return {@code module.name} of every allowed global
     */
    static List<String> allowedGlobalNames() {
        return List.copyOf(new TreeSet<>(GLOBALS.keySet()));
    }

    @Override
    protected Object dispatch(short key) throws IOException {
        if (++opcodes > maxOpcodes) {
            throw new PickleException("pickle runs more than " + maxOpcodes + " opcodes");
        }
        switch (key) {
            case Opcodes.GLOBAL:
                stack.add(global(PickleUtils.readline(input), PickleUtils.readline(input)));
                return NO_RETURN_VALUE;
            case Opcodes.STACK_GLOBAL:
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(module instanceof String) || !(name instanceof String)) {
                    throw new PickleException("STACK_GLOBAL needs two strings");
                }
                stack.add(global((String) module, (String) name));
                return NO_RETURN_VALUE;
            case Opcodes.REDUCE:
            case Opcodes.NEWOBJ:
                Object args = stack.pop();
                Object callable = stack.pop();
                stack.add(call(callable, args));
                return NO_RETURN_VALUE;
            case Opcodes.BUILD:
                Object state = stack.pop();
                // OrderedDict state is its instance __dict__ (state_dict()'s _metadata), which we drop.
                if (!(stack.peek() instanceof Map) || !(state instanceof Map)) {
                    throw new PickleException("BUILD (setting object state) on " + describe(stack.peek())
                            + " is not allowed");
                }
                return NO_RETURN_VALUE;
            case Opcodes.EMPTY_DICT:
                stack.add(new LinkedHashMap<>());
                return NO_RETURN_VALUE;
            case Opcodes.DICT:
                Map<Object, Object> dict = new LinkedHashMap<>();
                putPairs(dict, stack.pop_all_since_marker());
                stack.add(dict);
                return NO_RETURN_VALUE;
            case Opcodes.SETITEM:
                Object value = stack.pop();
                Object dictKey = stack.pop();
                putPairs(stack.peek(), Arrays.asList(dictKey, value));
                return NO_RETURN_VALUE;
            case Opcodes.SETITEMS:
                List<Object> items = stack.pop_all_since_marker();
                putPairs(stack.peek(), items);
                return NO_RETURN_VALUE;
            case Opcodes.EMPTY_SET:
                stack.add(new LinkedHashSet<>());
                return NO_RETURN_VALUE;
            case Opcodes.ADDITEMS:
                List<Object> elements = stack.pop_all_since_marker();
                if (!(stack.peek() instanceof Set)) {
                    throw new PickleException("ADDITEMS on " + describe(stack.peek()) + ", which is not a set");
                }
                addAll(stack.peek(), elements);
                return NO_RETURN_VALUE;
            case Opcodes.FROZENSET:
                Set<Object> frozen = new LinkedHashSet<>();
                addAll(frozen, stack.pop_all_since_marker());
                stack.add(frozen);
                return NO_RETURN_VALUE;
            case Opcodes.BINSTRING:
            case Opcodes.BINBYTES:
            case Opcodes.BINUNICODE:
            case Opcodes.LONG4:
                checkLength(key, 4);
                return super.dispatch(key);
            case Opcodes.BINUNICODE8:
            case Opcodes.BINBYTES8:
            case Opcodes.BYTEARRAY8:
                checkLength(key, 8);
                return super.dispatch(key);
            case Opcodes.INT:
            case Opcodes.LONG:
            case Opcodes.FLOAT:
            case Opcodes.STRING:
            case Opcodes.UNICODE:
            case Opcodes.GET:
            case Opcodes.PUT:
            case Opcodes.PERSID:
                throw new PickleException("protocol-0 text opcode '" + (char) key + "' is not allowed (torch.save "
                        + "writes protocol 2)");
            case Opcodes.INST:
            case Opcodes.OBJ:
            case Opcodes.NEWOBJ_EX:
            case Opcodes.EXT1:
            case Opcodes.EXT2:
            case Opcodes.EXT4:
            case Opcodes.NEXT_BUFFER:
            case Opcodes.READONLY_BUFFER:
                throw new PickleException("pickle opcode 0x" + Integer.toHexString(key) + " is not allowed in a "
                        + "state dict");
            default:
                return super.dispatch(key);
        }
    }

    /** Torch's persistent ids: {@code ('storage', storage_type, key, location, numel)}. */
    @Override
    protected Object persistentLoad(Object pid) {
        if (!(pid instanceof Object[]) || ((Object[]) pid).length != 5 || !"storage".equals(((Object[]) pid)[0])) {
            throw new PickleException("persistent id " + describe(pid) + " is not ('storage', type, key, "
                    + "location, numel)");
        }
        Object[] id = (Object[]) pid;
        if (!(id[1] instanceof StorageType) || !(id[2] instanceof String)) {
            throw new PickleException("persistent id has storage type " + describe(id[1]) + " and key "
                    + describe(id[2]) + "; expected a torch storage class and a string");
        }
        SafetensorsDtype dtype = ((StorageType) id[1]).dtype();
        String key = (String) id[2];
        long numel = toLong(id[4], "numel of storage '" + key + "'");
        if (numel < 0 || numel > Long.MAX_VALUE / dtype.byteSize()) {
            throw new PickleException("storage '" + key + "' has an impossible numel " + numel);
        }
        StorageRef storage = new StorageRef(key, dtype, numel);
        StorageRef previous = storages.putIfAbsent(key, storage);
        if (previous != null && !previous.equals(storage)) {
            throw new PickleException("storage '" + key + "' is declared as both " + previous + " and " + storage);
        }
        return previous == null ? storage : previous;
    }

    private static Object global(String module, String name) {
        Object value = GLOBALS.get(module + "." + name);
        if (value == null) {
            throw new PickleException("pickle global '" + module + "." + name + "' is not allowed: a state dict "
                    + "needs only " + allowedGlobalNames());
        }
        return value;
    }

    private static Object call(Object callable, Object args) {
        if (!(callable instanceof Callable)) {
            throw new PickleException(describe(callable) + " is called but is not callable");
        }
        if (!(args instanceof Object[])) {
            throw new PickleException(((Callable) callable).name() + " is called with " + describe(args)
                    + " instead of an argument tuple");
        }
        return ((Callable) callable).body().apply((Object[]) args);
    }

    private void checkLength(short key, int width) throws IOException {
        pickle.mark(width);
        byte[] prefix = pickle.readNBytes(width);
        pickle.reset();
        if (prefix.length < width) {
            return; // Pyrolite reports the early end itself.
        }
        long length = width == 4 ? PickleUtils.bytes_to_integer(prefix) : PickleUtils.bytes_to_long(prefix, 0);
        long left = pickle.available() - width;
        if (length < 0 || length > left) {
            throw new PickleException("opcode 0x" + Integer.toHexString(key) + " declares " + length
                    + " bytes but the pickle has " + left + " left");
        }
    }

    @SuppressWarnings("unchecked")
    private static void putPairs(Object target, List<Object> items) {
        if (!(target instanceof Map)) {
            throw new PickleException("SETITEMS on " + describe(target) + ", which is not a dict");
        }
        if (items.size() % 2 != 0) {
            throw new PickleException("dict items come in an odd number (" + items.size() + ")");
        }
        for (int i = 0; i < items.size(); i += 2) {
            ((Map<Object, Object>) target).put(hashable(items.get(i)), items.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private static void addAll(Object set, Collection<?> elements) {
        for (Object element : elements) {
            ((Set<Object>) set).add(hashable(element));
        }
    }

    /**
     * Python refuses lists, dicts and sets (and tuples holding them) as dict keys or set elements; so do we,
     * which also keeps cyclic structures out of Java's hashCode. Tensors as keys are refused too.
     */
    private static Object hashable(Object key) {
        checkHashable(key, Collections.newSetFromMap(new IdentityHashMap<>()));
        return key;
    }

    private static void checkHashable(Object key, Set<Object> seenTuples) {
        if (key instanceof Collection || key instanceof Map || key instanceof TensorRef) {
            throw new PickleException(describe(key) + " used as a dict key or set element");
        }
        if (key instanceof Object[] && seenTuples.add(key)) {
            for (Object element : (Object[]) key) {
                checkHashable(element, seenTuples);
            }
        }
    }

    // ------------------------------------------------------------------ the allow-list

    private static Map<String, Object> allowedGlobals() {
        Map<String, Object> globals = new LinkedHashMap<>();
        callable(globals, "collections.OrderedDict", args -> {
            arity("collections.OrderedDict", args, 0, 0);
            return new LinkedHashMap<>();
        });
        callable(globals, "torch._utils._rebuild_tensor_v2", args -> {
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            arity("torch._utils._rebuild_tensor_v2", args, 6, 7);
            if (!(args[5] instanceof Map) || args.length == 7 && args[6] != null && !(args[6] instanceof Map)) {
                throw new PickleException("torch._utils._rebuild_tensor_v2: backward_hooks must be a dict and "
                        + "metadata None or a dict");
            }
            return tensor("torch._utils._rebuild_tensor_v2", args);
        });
        callable(globals, "torch._utils._rebuild_tensor", args -> {
            arity("torch._utils._rebuild_tensor", args, 4, 4);
            return tensor("torch._utils._rebuild_tensor", args);
        });
        callable(globals, "torch._utils._rebuild_parameter", args -> {
            // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
            arity("torch._utils._rebuild_parameter", args, 3, 3);
            if (!(args[0] instanceof TensorRef)) {
                throw new PickleException("torch._utils._rebuild_parameter: data is " + describe(args[0]));
            }
            return args[0];
        });
        callable(globals, "torch.Size", args -> {
            arity("torch.Size", args, 1, 1);
            // A tuple of ints, as Python sees it.
            return Arrays.stream(longs("torch.Size", args[0])).boxed().toArray();
        });
        callable(globals, "builtins.set", args -> set("builtins.set", args));
        callable(globals, "builtins.frozenset", args -> set("builtins.frozenset", args));
        // Protocol 2 writes bytes objects as _codecs.encode(text, 'latin1').
        callable(globals, "_codecs.encode", args -> {
            arity("_codecs.encode", args, 2, 2);
            if (!(args[0] instanceof String) || !("latin1".equals(args[1]) || "latin-1".equals(args[1]))) {
                throw new PickleException("_codecs.encode is allowed only as (str, 'latin1')");
            }
            String text = (String) args[0];
            byte[] bytes = new byte[text.length()];
            for (int i = 0; i < bytes.length; i++) {
                if (text.charAt(i) > 0xFF) {
                    throw new PickleException("_codecs.encode: character beyond latin1");
                }
                bytes[i] = (byte) text.charAt(i);
            }
            return bytes;
        });
        storage(globals, "DoubleStorage", SafetensorsDtype.F64);
        storage(globals, "FloatStorage", SafetensorsDtype.F32);
        storage(globals, "HalfStorage", SafetensorsDtype.F16);
        storage(globals, "BFloat16Storage", SafetensorsDtype.BF16);
        storage(globals, "LongStorage", SafetensorsDtype.I64);
        storage(globals, "IntStorage", SafetensorsDtype.I32);
        storage(globals, "ShortStorage", SafetensorsDtype.I16);
        storage(globals, "CharStorage", SafetensorsDtype.I8);
        storage(globals, "ByteStorage", SafetensorsDtype.U8);
        storage(globals, "BoolStorage", SafetensorsDtype.BOOL);
        globals.put("torch.storage.UntypedStorage", new StorageType("torch.storage.UntypedStorage", SafetensorsDtype.U8));
        globals.put("torch.UntypedStorage", new StorageType("torch.UntypedStorage", SafetensorsDtype.U8));
        dtype(globals, SafetensorsDtype.F64, "float64", "double");
        dtype(globals, SafetensorsDtype.F32, "float32", "float");
        dtype(globals, SafetensorsDtype.F16, "float16", "half");
        dtype(globals, SafetensorsDtype.BF16, "bfloat16");
        dtype(globals, SafetensorsDtype.I64, "int64", "long");
        dtype(globals, SafetensorsDtype.I32, "int32", "int");
        dtype(globals, SafetensorsDtype.I16, "int16", "short");
        dtype(globals, SafetensorsDtype.I8, "int8");
        dtype(globals, SafetensorsDtype.U8, "uint8");
        dtype(globals, SafetensorsDtype.BOOL, "bool");
        return Collections.unmodifiableMap(globals);
    }

    private static void callable(Map<String, Object> globals, String name, Function<Object[], Object> body) {
        globals.put(name, new Callable(name, body));
    }

    private static void storage(Map<String, Object> globals, String name, SafetensorsDtype dtype) {
        globals.put("torch." + name, new StorageType("torch." + name, dtype));
    }

    private static void dtype(Map<String, Object> globals, SafetensorsDtype dtype, String... names) {
        for (String name : names) {
            globals.put("torch." + name, dtype);
        }
    }

    private static TensorRef tensor(String function, Object[] args) {
        if (!(args[0] instanceof StorageRef)) {
            throw new PickleException(function + ": storage is " + describe(args[0]));
        }
        return TensorRef.of((StorageRef) args[0], toLong(args[1], function + " storage_offset"),
                longs(function + " size", args[2]), longs(function + " stride", args[3]));
    }

    private static Object set(String function, Object[] args) {
        arity(function, args, 0, 1);
        LinkedHashSet<Object> set = new LinkedHashSet<>();
        if (args.length == 1) {
            if (args[0] instanceof List) {
                addAll(set, (List<?>) args[0]);
            } else if (args[0] instanceof Object[]) {
                addAll(set, Arrays.asList((Object[]) args[0]));
            } else {
                throw new PickleException(function + " of " + describe(args[0]));
            }
        }
        return set;
    }

    private static void arity(String function, Object[] args, int min, int max) {
        if (args.length < min || args.length > max) {
            throw new PickleException(function + " takes " + (min == max ? min : min + " to " + max)
                    + " arguments, not " + args.length);
        }
    }

    private static long[] longs(String what, Object tuple) {
        Object[] items;
        if (tuple instanceof Object[]) {
            items = (Object[]) tuple;
        } else if (tuple instanceof List) {
            items = ((List<?>) tuple).toArray();
        } else {
            throw new PickleException(what + " is " + describe(tuple) + ", not a tuple of ints");
        }
        long[] values = new long[items.length];
        for (int i = 0; i < items.length; i++) {
            values[i] = toLong(items[i], what);
        }
        return values;
    }

    private static long toLong(Object value, String what) {
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        throw new PickleException(what + " is " + describe(value) + ", not an int");
    }

    /** Names a pickle value in an error message without printing it whole. */
    private static String describe(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Callable) {
            return "'" + ((Callable) value).name() + "'";
        }
        if (value instanceof StorageType) {
            return "'" + ((StorageType) value).name() + "'";
        }
        if (value instanceof String) {
            String text = (String) value;
            return "'" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "'";
        }
        if (value instanceof Number || value instanceof Boolean || value instanceof SafetensorsDtype) {
            return value.toString();
        }
        return "a " + (value instanceof Object[] ? "tuple" : value.getClass().getSimpleName());
    }
}
