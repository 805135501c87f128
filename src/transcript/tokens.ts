// Token counting with tiktoken: one encoder per encoding (a handful), loaded on first use and kept for the process.
import { get_encoding, get_encoding_name_for_model, type Tiktoken, type TiktokenEncoding, type TiktokenModel } from "tiktoken";

/** Keyed by encoding, never by model: the model name comes from requests, and each encoder holds megabytes. */
const encoders = new Map<TiktokenEncoding, Tiktoken>();

/** OpenAI models map to their own encoding; anything else (llama, mistral on vLLM/Ollama) is estimated with o200k_base. */
function encodingFor(model: string): TiktokenEncoding {
  try {
    return get_encoding_name_for_model(model as TiktokenModel);
  } catch {
    return "o200k_base";
  }
}

function encoderFor(model: string): Tiktoken {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) encoders.set(name, (encoder = get_encoding(name)));
  return encoder;
}

export type TokenCounter = (text: string) => number;

export function tokenCounter(model: string): TokenCounter {
  const encoder = encoderFor(model);
  return (text) => (text === "" ? 0 : encoder.encode_ordinary(text).length);
}
