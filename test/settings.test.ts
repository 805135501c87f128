// Which LLM the settings pick, and how DEBRIEF_LOCAL_MODEL and its companions are read.
import { describe, expect, it } from "vitest";
import { DEFAULT_LOCAL_MODEL, loadSettings, SettingsError } from "../src/settings.js";

describe("choosing the LLM provider", () => {
  it("uses an OpenAI-compatible server when a key or a base URL is set, whatever DEBRIEF_LOCAL_MODEL says", () => {
    for (const env of [{ OPENAI_API_KEY: "sk-x" }, { OPENAI_BASE_URL: "http://127.0.0.1:1/v1" }]) {
      const llm = loadSettings({ ...env, DEBRIEF_LOCAL_MODEL: "/models/a.gguf" }).llm;
      expect(llm.provider).toBe("openai");
      expect(llm.local).toBeUndefined();
      expect(llm.model).toBe("gpt-4o-mini");
      expect(llm.timeoutMs).toBe(60_000);
    }
  });

  it("falls back to the default local model with neither set", () => {
    const llm = loadSettings({ DEBRIEF_DATA_DIR: "/var/debrief" }).llm;
    expect(llm.provider).toBe("local");
    expect(llm.configured).toBe(true);
    expect(DEFAULT_LOCAL_MODEL).toBe("hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf");
    expect(llm.model).toBe("local:qwen2.5-1.5b-instruct-q4_k_m");
    expect(llm.local).toEqual({
      source: {
        kind: "url",
        url: "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/qwen2.5-1.5b-instruct-q4_k_m.gguf",
        fileName: "qwen2.5-1.5b-instruct-q4_k_m.gguf",
      },
      sha256: undefined,
      modelsDir: "/var/debrief/models",
      contextTokens: 8192,
      answerTokens: 1024,
      maxStringChars: 500,
    });
  });

  it("turns the LLM off with DEBRIEF_LOCAL_MODEL=off", () => {
    const llm = loadSettings({ DEBRIEF_LOCAL_MODEL: "off" }).llm;
    expect(llm.provider).toBe("none");
    expect(llm.configured).toBe(false);
    expect(llm.local).toBeUndefined();
  });

  it("gives the local model a 10-minute default timeout, and keeps one that is set", () => {
    expect(loadSettings({ DEBRIEF_LOCAL_MODEL: "/m/a.gguf" }).llm.timeoutMs).toBe(600_000);
    expect(loadSettings({ DEBRIEF_LOCAL_MODEL: "/m/a.gguf", DEBRIEF_LLM_TIMEOUT: "90s" }).llm.timeoutMs).toBe(90_000);
  });

  it("always builds the local model's grammar from the schema (json_object mode is for servers without it)", () => {
    expect(loadSettings({ DEBRIEF_LOCAL_MODEL: "/m/a.gguf", DEBRIEF_STRUCTURED_OUTPUT: "json_object" }).llm.structuredOutput).toBe("json_schema");
  });
});

describe("DEBRIEF_LOCAL_MODEL", () => {
  it.each([
    ["a file path", "./models/My-Model.Q4_K_M.gguf", { kind: "file", path: "./models/My-Model.Q4_K_M.gguf" }, "local:My-Model.Q4_K_M"],
    [
      "an hf: reference with a revision",
      "hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf#v2",
      {
        kind: "url",
        url: "https://huggingface.co/bartowski/Llama-3.2-3B-Instruct-GGUF/resolve/v2/Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        fileName: "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
      },
      "local:Llama-3.2-3B-Instruct-Q4_K_M",
    ],
    [
      "an hf: reference to a file in a folder",
      "hf:org/repo/q4/model.gguf",
      { kind: "url", url: "https://huggingface.co/org/repo/resolve/main/q4/model.gguf", fileName: "model.gguf" },
      "local:model",
    ],
    ["an https URL", "https://models.example.com/files/tiny.gguf?download=1", { kind: "url", url: "https://models.example.com/files/tiny.gguf?download=1", fileName: "tiny.gguf" }, "local:tiny"],
  ])("reads %s", (_what, value, source, model) => {
    const llm = loadSettings({ DEBRIEF_LOCAL_MODEL: value }).llm;
    expect(llm.local?.source).toEqual(source);
    expect(llm.model).toBe(model);
  });

  it.each([
    ["an hf: reference without a file", "hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M", "must name the file"],
    ["a URL without a file name", "https://models.example.com/", "must end in a file name"],
  ])("refuses %s, naming the variable", (_what, value, message) => {
    expect(() => loadSettings({ DEBRIEF_LOCAL_MODEL: value })).toThrow(SettingsError);
    expect(() => loadSettings({ DEBRIEF_LOCAL_MODEL: value })).toThrow(new RegExp(`DEBRIEF_LOCAL_MODEL: .*${message}`));
  });

  it("takes DEBRIEF_LOCAL_MODEL_SHA256 as 64 hex digits, in either case", () => {
    const hash = "AB".repeat(32);
    expect(loadSettings({ DEBRIEF_LOCAL_MODEL: "/m/a.gguf", DEBRIEF_LOCAL_MODEL_SHA256: hash }).llm.local?.sha256).toBe(hash.toLowerCase());
    expect(() => loadSettings({ DEBRIEF_LOCAL_MODEL_SHA256: "abc" })).toThrow(/DEBRIEF_LOCAL_MODEL_SHA256: must be the file's SHA-256/);
  });

  it("needs a context of at least 512 tokens", () => {
    expect(() => loadSettings({ DEBRIEF_LOCAL_CONTEXT: "256" })).toThrow(/DEBRIEF_LOCAL_CONTEXT: must be at least 512/);
  });
});

describe("DEBRIEF_SCHEMA_IN_PROMPT", () => {
  it.each([
    ["OpenAI's API (no base URL)", { OPENAI_API_KEY: "k" }, "never"],
    ["OpenAI's API named", { OPENAI_API_KEY: "k", OPENAI_BASE_URL: "https://api.openai.com/v1" }, "never"],
    ["another server, which may only constrain decoding", { OPENAI_BASE_URL: "http://vllm.internal:8000/v1" }, "always"],
    ["a look-alike host", { OPENAI_BASE_URL: "https://api.openai.com.example.net/v1" }, "always"],
    ["OpenAI in json_object mode, where no schema reaches the model", { OPENAI_API_KEY: "k", DEBRIEF_STRUCTURED_OUTPUT: "json_object" }, "always"],
    ["the local model, which only gets a grammar", { DEBRIEF_LOCAL_MODEL: "/models/m.gguf" }, "always"],
  ])("auto sends descriptions once only to %s", (_name, env, expected) => {
    expect(loadSettings(env).llm.schemaInPrompt).toBe(expected);
  });

  it("keeps an explicit choice", () => {
    expect(loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_SCHEMA_IN_PROMPT: "always" }).llm.schemaInPrompt).toBe("always");
    expect(loadSettings({ OPENAI_BASE_URL: "http://vllm.internal:8000/v1", DEBRIEF_SCHEMA_IN_PROMPT: "never" }).llm.schemaInPrompt).toBe("never");
  });

  it("refuses never for the local model, which would then never read the descriptions", () => {
    expect(() => loadSettings({ DEBRIEF_LOCAL_MODEL: "/models/m.gguf", DEBRIEF_SCHEMA_IN_PROMPT: "never" })).toThrow(/DEBRIEF_SCHEMA_IN_PROMPT/);
  });

  it("refuses a value it does not know", () => {
    expect(() => loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_SCHEMA_IN_PROMPT: "sometimes" })).toThrow(/DEBRIEF_SCHEMA_IN_PROMPT/);
  });
});

describe("DEBRIEF_LOGPROBS", () => {
  it("asks for log-probabilities by default, and takes on and off", () => {
    expect(loadSettings({ OPENAI_API_KEY: "k" }).llm.logprobs).toBe("auto");
    expect(loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LOGPROBS: "off" }).llm.logprobs).toBe("off");
    expect(() => loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LOGPROBS: "yes" })).toThrow(/DEBRIEF_LOGPROBS/);
  });
});

describe("DEBRIEF_LLM_RPM, DEBRIEF_LLM_TPM and DEBRIEF_LLM_LIMITS", () => {
  it("has no limits unless one is set", () => {
    expect(loadSettings({ OPENAI_API_KEY: "k" }).llm.limits).toEqual({ byModel: {}, fallback: {} });
  });

  it("limits every model with RPM and TPM, and each model DEBRIEF_LLM_LIMITS names with its own", () => {
    const settings = loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LLM_RPM: "60", DEBRIEF_LLM_TPM: "90000", DEBRIEF_LLM_LIMITS: "gpt-4o=500rpm/200000tpm" });
    expect(settings.llm.limits).toEqual({ byModel: { "gpt-4o": { rpm: 500, tpm: 200_000 } }, fallback: { rpm: 60, tpm: 90_000 } });
  });

  it("lets DEBRIEF_LLM_LIMITS's * stand for every other model", () => {
    expect(loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LLM_RPM: "60", DEBRIEF_LLM_LIMITS: "*=30rpm" }).llm.limits.fallback).toEqual({ rpm: 30 });
  });

  it("stops start-up naming the setting when a limit does not parse", () => {
    expect(() => loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LLM_LIMITS: "gpt-4o=fast" })).toThrow(SettingsError);
    expect(() => loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LLM_LIMITS: "gpt-4o=fast" })).toThrow(/DEBRIEF_LLM_LIMITS: "fast" in "gpt-4o=fast"/);
    expect(() => loadSettings({ OPENAI_API_KEY: "k", DEBRIEF_LLM_RPM: "-3" })).toThrow(/DEBRIEF_LLM_RPM/);
  });
});
