// Token counting with tiktoken: one encoder per encoding, loaded on first use and kept for the process.
import { encoding_for_model, get_encoding, type Tiktoken, type TiktokenModel } from "tiktoken";

const encoders = new Map<string, Tiktoken>();

/** OpenAI models map to their own encoding; anything else (llama, mistral on vLLM/Ollama) is estimated with o200k_base. */
function encoderFor(model: string): Tiktoken {
  let encoder = encoders.get(model);
  if (encoder) return encoder;
  try {
    encoder = encoding_for_model(model as TiktokenModel);
  } catch {
    encoder = encoders.get("o200k_base") ?? get_encoding("o200k_base");
    encoders.set("o200k_base", encoder);
  }
  encoders.set(model, encoder);
  return encoder;
}

export type TokenCounter = (text: string) => number;

export function tokenCounter(model: string): TokenCounter {
  const encoder = encoderFor(model);
  return (text) => (text === "" ? 0 : encoder.encode_ordinary(text).length);
}
