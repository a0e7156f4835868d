window.YTD.profile.part0 = [
  {
    "profile" : {
      "description" : {
        "bio" : "Journaliste climat à Nantes. Opinions personnelles.",
        "website" : "https://t.co/site",
        "location" : "Nantes, France"
      },
      "avatarMediaUrl" : "https://pbs.twimg.com/profile_images/1/a.jpg"
    }
  }
]
