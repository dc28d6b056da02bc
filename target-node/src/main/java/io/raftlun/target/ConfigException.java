package io.raftlun.target;

import java.util.List;

/** A target configuration was refused; the message says why, in the administrator's terms. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }

    static ConfigException of(List<String> problems) {
        return new ConfigException(String.join("; ", problems));
    }
}
