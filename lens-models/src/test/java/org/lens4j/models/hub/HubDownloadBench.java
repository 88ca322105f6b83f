package org.lens4j.models.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Measures the hub client against {@link FakeHub} on 127.0.0.1 (no real network): a cold download
 * of an LFS file (HEAD, redirect, GET, sha256, rename, link), the sha256 alone on the same bytes,
 * and a cache hit. Not a test; run it with
 *
 * <pre>
 * ./mvnw -o -q -pl lens-models -am test-compile
 * ./mvnw -o -q -pl lens-models dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -Xmx2g -cp lens-models/target/test-classes:lens-models/target/classes:$(cat /tmp/cp.txt) \
 *     org.lens4j.models.hub.HubDownloadBench [MiB]
 * </pre>
 */
public final class HubDownloadBench {

  private HubDownloadBench() {}

  /**
   * @param args optional file size in MiB (default 256)
   * @throws Exception if the benchmark cannot run
   */
  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    byte[] weights = new byte[mib << 20];
    new Random(1).nextBytes(weights);
    Path tmp = Files.createTempDirectory("hub-bench");
    try (FakeHub server = new FakeHub().add("bench/model", "model.safetensors", weights, true)) {
      double[] cold = new double[5];
      for (int i = 0; i < cold.length; i++) {
        Path cache = tmp.resolve("cache" + i);
        HubSettings settings = new HubSettings(server.endpoint(), cache, false, null, false,
            Duration.ofSeconds(30), Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        new HfHub(settings).download("bench/model", "model.safetensors", null);
        cold[i] = (System.nanoTime() - t0) / 1e9;
        deleteTree(cache);
      }

      double[] hash = new double[5];
      for (int i = 0; i < hash.length; i++) {
        long t0 = System.nanoTime();
        MessageDigest.getInstance("SHA-256").digest(weights);
        hash[i] = (System.nanoTime() - t0) / 1e9;
      }

      HubSettings settings = new HubSettings(server.endpoint(), tmp.resolve("warm"), false, null,
          false, Duration.ofSeconds(30), Duration.ofSeconds(30));
      HfHub hub = new HfHub(settings);
      hub.download("bench/model", "model.safetensors", null);
      server.clearRequests();
      int calls = 20_000;
      for (int i = 0; i < calls; i++) { // warm-up
        hub.download("bench/model", "model.safetensors", null);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < calls; i++) {
        hub.download("bench/model", "model.safetensors", null);
      }
      double hitMicros = (System.nanoTime() - t0) / 1e3 / calls;

      System.out.printf("file: %d MiB LFS, loopback, %d cores, Java %s%n", mib,
          Runtime.getRuntime().availableProcessors(), Runtime.version());
      System.out.printf("cold download (HEAD+302+GET+sha256+rename+link): median %.2f s = %.0f MiB/s"
          + " (runs: %s)%n", median(cold), mib / median(cold), Arrays.toString(round(cold)));
      System.out.printf("sha256 alone on the same bytes: median %.2f s = %.0f MiB/s%n",
          median(hash), mib / median(hash));
      System.out.printf("cache hit (download() of a cached file): %.1f us per call, %d requests"
          + " in %d calls%n", hitMicros, server.requestCount(), 2 * calls);
    } finally {
      deleteTree(tmp);
    }
  }

  private static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static double[] round(double[] xs) {
    return Arrays.stream(xs).map(x -> Math.round(x * 100) / 100.0).toArray();
  }

  private static void deleteTree(Path root) throws Exception {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
