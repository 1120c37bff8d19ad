import MacvtapTestSupport
import Testing

/// A gate the README's test command set must be satisfied: the sandbox (both libvirt hosts)
/// answers, the PostgreSQL server answers. Set but unsatisfied is a failure, never a skip.
@Suite("Gates: what the live tests need is there")
struct GateTests {
    @Test("VIRT_MACVTAP_SANDBOX set: both libvirt hosts answer", TestGate.sandbox.trait)
    func sandbox() {
        #expect(TestGate.sandbox.unsatisfied() == nil, "\(TestGate.sandbox.unsatisfied() ?? "")")
    }

    @Test("VIRT_MACVTAP_POSTGRES set: the server answers", TestGate.postgres.trait)
    func postgres() {
        #expect(TestGate.postgres.unsatisfied() == nil, "\(TestGate.postgres.unsatisfied() ?? "")")
    }
}
