package org.lens4j.core.tokens;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Main-method benchmark of the GPT-2 tokenizer (not a unit test): load time, encode and decode
 * throughput, and the cost of encoding a batch one text per native call (what {@link Tokenizer}
 * does, because DJL's batch encode aborts the JVM on a tokenizer error) against DJL's parallel
 * batch encode. Texts are decoded from seeded random GPT-2 token ids, so words vary.
 *
 * <p>Run: {@code java -cp <lens-core test classpath> org.lens4j.core.tokens.TokenizerBench
 * [dir with tokenizer.json]}; results go to {@code docs/tokens.md}.
 */
public final class TokenizerBench {

    private TokenizerBench() {}

    /**
     * @param args optional directory holding {@code tokenizer.json} (default: the test GPT-2 one)
     * @throws Exception on a missing tokenizer
     */
    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : TestTokenizers.dir("gpt2");
        System.out.printf("java %s, %d cores, tokenizer %s%n", System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(), dir);

        median("load tokenizer.json (Gson vocabulary + DJL)", 5, () -> {
            try (Tokenizer t = Tokenizer.fromDirectory(dir)) {
                return t.vocabSize();
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        });

        try (Tokenizer tokenizer = Tokenizer.fromDirectory(dir);
                HuggingFaceTokenizer djl = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"),
                        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            Random random = new Random(42);
            String longText = randomText(tokenizer, random, 4096);
            int longTokens = tokenizer.toTokens(longText, true).length;
            double ms = median("toTokens, one text of " + longTokens + " tokens", 20,
                    () -> tokenizer.toTokens(longText, true).length);
            System.out.printf("  = %.0f tokens/s%n", longTokens / ms * 1000);
            long[] tokens = tokenizer.toTokens(longText, true);
            median("toStrTokens, " + tokens.length + " tokens", 20, () -> tokenizer.toStrTokens(tokens).size());
            median("toString, " + tokens.length + " tokens", 20, () -> tokenizer.toString(tokens).length());

            List<String> batch = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                batch.add(randomText(tokenizer, random, 128));
            }
            int batchTokens = batch.stream().mapToInt(s -> tokenizer.toTokens(s, false).length).sum();
            median("toTokens(List), 64 texts, " + batchTokens + " tokens, padded + mask", 20,
                    () -> tokenizer.toTokens(batch, true, PaddingSide.RIGHT).length());
            String[] array = batch.toArray(String[]::new);
            median("DJL batchEncode (parallel, for comparison), same 64 texts", 20,
                    () -> djl.batchEncode(array, false, false).length);
        }
    }

    private static String randomText(Tokenizer tokenizer, Random random, int tokens) {
        long[] ids = new long[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = random.nextInt(tokenizer.vocabSize() - 1); // no <|endoftext|>
        }
        return tokenizer.toString(ids);
    }

    /** Runs {@code task} 3 times to warm up, then {@code runs} times; prints and returns the median ms. */
    private static double median(String what, int runs, Supplier<Object> task) {
        for (int i = 0; i < 3; i++) {
            task.get();
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            task.get();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        double median = ms[runs / 2];
        System.out.printf("%-70s median %8.3f ms (min %.3f, max %.3f, %d runs)%n", what, median, ms[0],
                ms[runs - 1], runs);
        return median;
    }
}
