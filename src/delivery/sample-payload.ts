// A realistic Autocalls-shaped enriched payload for "Make test request": fake numbers, plausible variables.

export function samplePayload(): Record<string, unknown> {
  return {
    id: 12345,
    customer_phone: "+15555550123",
    assistant_phone: "+15555550100",
    duration: 125,
    status: "completed",
    extracted_variables: {
      status: true,
      summary: "Customer interested in a product demo next week",
      qualified: true,
      budget: 5000,
      decision_maker: true,
      timeline: "next quarter",
      appointment_date: "2025-01-22",
    },
    input_variables: { customer_name: "John Doe", product_interest: "Pro Plan" },
    transcript: [
      { text: "Hello! This is Sarah from Acme. Is this John?", type: "transcript", sender: "bot", timestamp: 1736937000.315 },
      { text: "Yes, speaking. I was hoping to see a demo of the Pro plan.", type: "transcript", sender: "human", timestamp: 1736937004.104 },
      { text: "Great. What budget do you have in mind?", type: "transcript", sender: "bot", timestamp: 1736937008.52 },
      { text: "Around five thousand dollars, and I sign off on it myself.", type: "transcript", sender: "human", timestamp: 1736937012.87 },
    ],
    formatted_transcript:
      "AI: Hello! This is Sarah from Acme. Is this John?\nCustomer: Yes, speaking. I was hoping to see a demo of the Pro plan.\n" +
      "AI: Great. What budget do you have in mind?\nCustomer: Around five thousand dollars, and I sign off on it myself.",
    recording_url: null,
    created_at: "2025-01-15T10:30:00.000000Z",
    finished_at: "2025-01-15T10:32:05.000000Z",
  };
}
