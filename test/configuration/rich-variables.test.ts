import { describe, expect, it } from "vitest";
import { compilePipelineConfig } from "../../src/configuration/index.js";
import { ConfigError } from "../../src/errors.js";

const limits = { maxVariables: 200, maxDescriptionChars: 2000 };
const SECRET = `whsec_${Buffer.from("0123456789abcdef0123").toString("base64")}`;
const config = (profile: Record<string, unknown>) => ({
  profiles: { orders: { system_prompt: "Take orders.", destinations: ["crm"], ...profile } },
  destinations: { crm: { url: "https://crm.example.com/hooks", secret: SECRET } },
});
const CONTACT = {
  name: "contact",
  type: "object",
  description: "Who called",
  fields: [{ name: "phone", type: "string", format: "phone", description: "Callback number" }],
};

describe("rich variables in a profile", () => {
  it("loads an object variable, its phone fields reading national numbers in the profile's default_region", () => {
    const compiled = compilePipelineConfig(config({ default_region: "GB", variables: [CONTACT] }), {}, limits, { allowPrivate: false });
    expect(compiled.profiles.get("orders")!.variables).toEqual([{ ...CONTACT, fields: [{ ...CONTACT.fields[0], default_region: "GB" }] }]);
  });

  it("names the path of a bad field", () => {
    try {
      compilePipelineConfig(config({ variables: [{ ...CONTACT, fields: [{ name: "phone", type: "integer", format: "phone", description: "x" }] }] }), {}, limits, { allowPrivate: false });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((issue) => issue.path)).toContain("profiles.orders.variables[0].fields[0].format");
    }
  });
});
