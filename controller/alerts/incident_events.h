#ifndef OPSAGENT_CONTROLLER_ALERTS_INCIDENT_EVENTS_H_
#define OPSAGENT_CONTROLLER_ALERTS_INCIDENT_EVENTS_H_

#include <string>

namespace opsagent {

// What happens to an incident that the team hears of where it works (chat,
// an incident tool): told by the alert intake, the automatic diagnosis and
// the people who respond to it.
enum class IncidentEvent {
  kOpened,
  kDiagnosed,  // the automatic diagnosis ended (ready or failed)
  kAcknowledged,
  kResolved,  // by its alerts or by a person
  kReopened,
};

// Told each event as it happens; must return at once (it is called on the
// intake's and the callers' threads) and never fail them.
class IncidentEvents {
 public:
  virtual ~IncidentEvents() = default;
  virtual void Happened(const std::string& incident, IncidentEvent event) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_INCIDENT_EVENTS_H_
