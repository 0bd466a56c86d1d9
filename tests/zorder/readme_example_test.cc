// The embedding example of README.md, compiled and run by this test. The lines between the
// two README-EXAMPLE markers below (BEGIN and END) are copied into README.md verbatim: change
// both together. Each marker appears only once in this file (a sed range over them extracts
// the example).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/spatial_test_util.h"

// README-EXAMPLE-BEGIN
#include <iostream>

#include "zworld/zorder/spatial_store.h"

// Opens (or creates) a store in folder, puts three entities, moves one, lists a box.
zworld::engine::Status Example(const std::string& folder) {
  namespace zo = zworld::zorder;
  zo::SpatialOptions options;  // 2D world [0, 65536) x [0, 65536), cells of 16 units
  std::unique_ptr<zo::SpatialStore> store;
  zo::Status s = zo::SpatialStore::Open(options, folder, &store);
  for (uint64_t id = 1; s.ok() && id <= 3; id++) {
    zo::Entity e;
    e.id = id;
    e.position = {200.0f * id, 100.0f, 0.0f};
    e.kind = 7;  // a game-defined type; e.payload holds any bytes
    s = store->Put(e);
  }
  if (s.ok()) s = store->Move(3, {150.0f, 120.0f, 0.0f});  // one atomic write
  std::vector<zo::Hit> hits;
  if (s.ok()) s = store->QueryBox({0, 0, 0}, {256, 256, 0}, {}, &hits);  // [min, max)
  for (const zo::Hit& h : hits) {
    std::cout << "entity " << h.id << " at " << h.position.x << ", " << h.position.y << "\n";
  }
  return s;
}
// README-EXAMPLE-END

namespace zworld::zorder {
namespace {

TEST(ReadmeExampleTest, RunsAndFindsTheMovedEntity) {
  test::TempDir dir;
  const std::string folder = dir.Sub("world");
  for (int run = 0; run < 2; run++) {  // creating the store, then reopening it
    SCOPED_TRACE(run == 0 ? "new store" : "reopened store");
    ::testing::internal::CaptureStdout();
    const Status s = Example(folder);
    const std::string out = ::testing::internal::GetCapturedStdout();
    ASSERT_TRUE(test::IsOk(s));
    // Entity 2 at (400, 100) is outside the box; entity 3 moved into it. Cells (12, 6) and
    // (9, 7): z-order puts entity 3 first.
    EXPECT_EQ(out, "entity 3 at 150, 120\nentity 1 at 200, 100\n");
  }

  // The example's writes are durable and versioned: three puts per run, a move per run.
  SpatialOptions options;
  std::unique_ptr<SpatialStore> store;
  ASSERT_TRUE(test::IsOk(SpatialStore::Open(options, folder, &store)));
  Entity e;
  ASSERT_TRUE(test::IsOk(store->Get(3, &e)));
  EXPECT_EQ(e.position, glm::vec3(150.0f, 120.0f, 0.0f));
  EXPECT_EQ(e.kind, 7u);
  EXPECT_EQ(e.version, 4u);  // put, move, put, move
  ASSERT_TRUE(test::IsOk(store->Get(2, &e)));
  EXPECT_EQ(e.position, glm::vec3(400.0f, 100.0f, 0.0f));
  EXPECT_EQ(e.version, 2u);
}

}  // namespace
}  // namespace zworld::zorder
