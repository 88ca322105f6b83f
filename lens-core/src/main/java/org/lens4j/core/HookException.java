package org.lens4j.core;

/** A hook was misused: an unknown or disabled hook point, a wrong replacement, or a hook that failed. */
public class HookException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with a message naming the hook point. */
    public HookException(String message) {
        super(message);
    }

    /** An exception with a message naming the hook point and its cause. */
    public HookException(String message, Throwable cause) {
        super(message, cause);
    }
}
