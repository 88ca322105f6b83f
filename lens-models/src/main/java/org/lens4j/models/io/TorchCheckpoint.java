package org.lens4j.models.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
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
import org.lens4j.core.io.MalformedWeightsException;
import org.lens4j.core.io.SafetensorsDtype;

/**
 * Reads PyTorch checkpoints written by {@code torch.save} ({@code .pth}, {@code .pt}, {@code
 * pytorch_model.bin}) without Python and without running anything from the file.
 *
 * <p>The zip layout is {@code <archive>/data.pkl} (the pickled object), {@code <archive>/data/<key>} (one
 * entry of raw little-endian bytes per storage), {@code <archive>/byteorder} and {@code
 * <archive>/version}. The pickle is read by a restricted unpickler that, like {@code
 * torch.load(weights_only=True)}, accepts only the globals a state dict needs and refuses any other by
 * name; tensors are strided views of storages and are loaded as contiguous copies, checked to stay inside
 * their storage. The limits on hostile files are the constants of this class and of {@link TorchArchive}.
 *
 * <p>{@code BF16} and {@code I16} tensors load widened to float32 and int32, as with safetensors (see
 * {@link SafetensorsDtype}). A tensor stored once under two names (one Python object) is one array under
 * both names.
 */
public final class TorchCheckpoint {

    /** Largest {@code data.pkl} accepted, in bytes; real state dicts need a few hundred kilobytes. */
    public static final long MAX_PICKLE_BYTES = 32L << 20;

    /** Most pickle opcodes run; bounds the objects a small pickle can make (about 50 per tensor). */
    public static final long MAX_PICKLE_OPCODES = 5_000_000;

    /** Most zip entries accepted (one per storage, plus a few). */
    public static final int MAX_ENTRIES = 100_000;

    /** The tensors loaded may total at most this many times the file size (views can repeat bytes). */
    public static final long MAX_LOADED_TO_FILE_RATIO = 8;

    /** Keys under which checkpoints nest their state dict, tried in this order by {@link #findStateDict}. */
    public static final List<String> STATE_DICT_KEYS = List.of("state_dict", "model_state_dict", "model", "module");

    /** Deepest nesting of containers followed. */
    private static final int MAX_DEPTH = 100;

    private TorchCheckpoint() {}

    /**
     * Reads the state dict of a checkpoint: the top-level object if it maps names to tensors, else the
     * first such map found under {@link #STATE_DICT_KEYS}. Only its tensors are loaded.
     *
     * @param file the checkpoint
     * @param manager the manager that will own the arrays (the caller closes it)
     * @return the tensors by name, in the checkpoint's order
     * @throws MalformedWeightsException if the file is malformed, refused (a forbidden global, a limit) or
     *     holds no state dict
     * @throws IOException if the file cannot be read
     */
    public static LinkedHashMap<String, NDArray> readStateDict(Path file, NDManager manager) throws IOException {
        try (TorchArchive archive = TorchArchive.open(file)) {
            Object top = archive.unpickle();
            Map<String, TensorRef> refs = find(top, TensorRef.class, 0);
            if (refs == null) {
                throw new MalformedWeightsException(file, "holds no state dict: " + describeTop(top));
            }
            IdentityHashMap<TensorRef, String> names = new IdentityHashMap<>();
            refs.forEach((name, ref) -> names.putIfAbsent(ref, name));
            IdentityHashMap<TensorRef, NDArray> arrays = archive.load(names, manager);
            LinkedHashMap<String, NDArray> stateDict = new LinkedHashMap<>();
            refs.forEach((name, ref) -> stateDict.put(name, arrays.get(ref)));
            return stateDict;
        }
    }

    /**
     * Reads a checkpoint's whole top-level object, loading every tensor in it. Python values map to: dict →
     * {@link LinkedHashMap} (pickle order), list and tuple → {@link List} (tuples unmodifiable), set →
     * {@link Set}, str → {@link String}, int → {@link Integer}, {@link Long} or {@link java.math.BigInteger},
     * float → {@link Double}, bool → {@link Boolean}, None → {@code null}, bytes → {@code byte[]}, torch
     * dtype → {@link SafetensorsDtype}, tensor → {@link NDArray} (named by its path, e.g. {@code
     * state_dict.embed.W_E}).
     *
     * @param file the checkpoint
     * @param manager the manager that will own the arrays (the caller closes it)
     * @return the top-level object
     * @throws MalformedWeightsException if the file is malformed or refused
     * @throws IOException if the file cannot be read
     */
    public static Object read(Path file, NDManager manager) throws IOException {
        try (TorchArchive archive = TorchArchive.open(file)) {
            Object top = archive.unpickle();
            IdentityHashMap<TensorRef, String> names = new IdentityHashMap<>();
            collectTensors(file, top, "", names, Collections.newSetFromMap(new IdentityHashMap<>()), 0);
            IdentityHashMap<TensorRef, NDArray> arrays = archive.load(names, manager);
            return convert(file, top, arrays, new IdentityHashMap<>(), 0);
        }
    }

    /**
     * Finds the state dict in an object returned by {@link #read}: the object itself if it maps names to
     * tensors, else the first such map under {@link #STATE_DICT_KEYS}, searched depth-first up to as many
     * levels down as there are such keys (e.g. {@code {"model": {"state_dict": {...}}}}).
     *
     * @param top the top-level object of a checkpoint
     * @return the state dict (the same arrays, not copies)
     * @throws IllegalArgumentException if there is none
     */
    public static LinkedHashMap<String, NDArray> findStateDict(Object top) {
        Map<String, NDArray> found = find(top, NDArray.class, 0);
        if (found == null) {
            throw new IllegalArgumentException("no state dict: " + describeTop(top));
        }
        return new LinkedHashMap<>(found);
    }

    @SuppressWarnings("unchecked")
    private static <T> Map<String, T> find(Object value, Class<T> tensorType, int depth) {
        if (!(value instanceof Map) || depth > STATE_DICT_KEYS.size()) {
            return null;
        }
        Map<?, ?> map = (Map<?, ?>) value;
        boolean tensors = map.entrySet().stream()
                .allMatch(e -> e.getKey() instanceof String && tensorType.isInstance(e.getValue()));
        if (tensors) {
            return (Map<String, T>) map;
        }
        for (String key : STATE_DICT_KEYS) {
            Map<String, T> found = find(map.get(key), tensorType, depth + 1);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private static String describeTop(Object top) {
        if (top instanceof Map) {
            List<String> keys = ((Map<?, ?>) top).keySet().stream().limit(10).map(String::valueOf).toList();
            return "the top-level object is a dict with keys " + keys + " (" + ((Map<?, ?>) top).size()
                    + " in all), and no dict of tensors was found at the top or under " + STATE_DICT_KEYS;
        }
        return "the top-level object is " + (top == null ? "None" : "a " + top.getClass().getSimpleName())
                + ", not a dict";
    }

    /** Names every tensor by its path; each container is visited once, whatever cycles the pickle made. */
    private static void collectTensors(Path file, Object value, String path, IdentityHashMap<TensorRef, String> names,
            Set<Object> visited, int depth) throws MalformedWeightsException {
        if (value instanceof TensorRef) {
            names.putIfAbsent((TensorRef) value, path);
            return;
        }
        if (!(value instanceof Map || value instanceof Collection || value instanceof Object[])
                || !visited.add(value)) {
            return;
        }
        checkDepth(file, path, depth);
        if (value instanceof Map) {
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                String key = String.valueOf(entry.getKey() instanceof Object[] ? "tuple" : entry.getKey());
                collectTensors(file, entry.getValue(), path.isEmpty() ? key : path + "." + key, names, visited,
                        depth + 1);
            }
        } else {
            int index = 0;
            for (Object element : value instanceof Object[] ? Arrays.asList((Object[]) value) : (Collection<?>) value) {
                collectTensors(file, element, path + "[" + index++ + "]", names, visited, depth + 1);
            }
        }
    }

    /** Replaces tensors with arrays and tuples with lists; shared and cyclic containers stay shared. */
    private static Object convert(Path file, Object value, IdentityHashMap<TensorRef, NDArray> arrays,
            IdentityHashMap<Object, Object> converted, int depth) throws MalformedWeightsException {
        if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean
                || value instanceof byte[] || value instanceof SafetensorsDtype) {
            return value;
        }
        if (value instanceof TensorRef) {
            return arrays.get(value);
        }
        Object done = converted.get(value);
        if (done != null) {
            return done;
        }
        checkDepth(file, "", depth);
        if (value instanceof Map) {
            Map<Object, Object> map = new LinkedHashMap<>();
            converted.put(value, map);
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                map.put(convert(file, entry.getKey(), arrays, converted, depth + 1),
                        convert(file, entry.getValue(), arrays, converted, depth + 1));
            }
            return map;
        }
        if (value instanceof List || value instanceof Object[]) {
            List<Object> list = new ArrayList<>();
            boolean tuple = value instanceof Object[];
            Object result = tuple ? Collections.unmodifiableList(list) : list;
            converted.put(value, result);
            for (Object element : tuple ? Arrays.asList((Object[]) value) : (List<?>) value) {
                list.add(convert(file, element, arrays, converted, depth + 1));
            }
            return result;
        }
        if (value instanceof Set) {
            // Elements are hashable (no lists, dicts or sets), so no cycle runs through a set.
            Set<Object> set = new LinkedHashSet<>();
            for (Object element : (Set<?>) value) {
                set.add(convert(file, element, arrays, converted, depth + 1));
            }
            converted.put(value, set);
            return set;
        }
        throw new MalformedWeightsException(file, "holds a " + value.getClass().getSimpleName()
                + " outside any tensor, which lens4j does not load");
    }

    private static void checkDepth(Path file, String path, int depth) throws MalformedWeightsException {
        if (depth > MAX_DEPTH) {
            throw new MalformedWeightsException(file, path.isEmpty() ? null : path, "containers are nested more "
                    + "than " + MAX_DEPTH + " deep");
        }
    }
}
