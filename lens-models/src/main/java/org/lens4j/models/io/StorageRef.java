package org.lens4j.models.io;

import org.lens4j.core.io.SafetensorsDtype;

/**
 * A storage as a checkpoint's pickle refers to it: the zip entry {@code <archive>/data/<key>} holding
 * {@code numel} elements of {@code dtype}. Nothing is read until the storage is needed.
 *
 * @param key the storage key, the entry's name under {@code data/}
 * @param dtype the element type
 * @param numel the number of elements
 */
record StorageRef(String key, SafetensorsDtype dtype, long numel) {

    /**
     * Returns the storage size in bytes.
     *
     * @return {@code numel * dtype size}
     */
    long byteLength() {
        return numel * dtype.byteSize();
    }
}
