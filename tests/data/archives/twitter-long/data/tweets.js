window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "id_str" : "1730000000000000001",
      "id" : "1730000000000000001",
      "created_at" : "Tue Dec 05 18:30:12 +0000 2023",
      "full_text" : "Compte rendu de la réunion publique sur l'énergie à Nantes : plus de deux cents personnes, des questions précises sur le réseau de chaleur, les tarifs et le calendrier des travaux. La mairie s'est engagée à publier les chiffres avant la fin du mois. Merci à @Pau… https://t.co/self01",
      "lang" : "fr",
      "favorite_count" : "4",
      "retweet_count" : "1",
      "truncated" : false,
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "PaulMartin",
            "screen_name" : "PaulMartin",
            "id_str" : "2222",
            "id" : "2222",
            "indices" : [
              "0",
              "1"
            ]
          }
        ],
        "urls" : [
          {
            "url" : "https://t.co/self01",
            "expanded_url" : "https://twitter.com/i/web/status/1730000000000000001",
            "display_url" : "twitter.com/i/web/stat",
            "indices" : [
              "0",
              "1"
            ]
          }
        ]
      }
    }
  },
  {
    "tweet" : {
      "id_str" : "1730000000000000002",
      "id" : "1730000000000000002",
      "created_at" : "Tue Dec 05 18:45:00 +0000 2023",
      "full_text" : "Photo de la salle, merci à tous #énergie",
      "lang" : "fr",
      "favorite_count" : "4",
      "retweet_count" : "1",
      "truncated" : false,
      "entities" : {
        "hashtags" : [
          {
            "text" : "énergie",
            "indices" : [
              "0",
              "1"
            ]
          }
        ],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      }
    }
  },
  {
    "tweet" : {
      "id_str" : "1730000000000000003",
      "id" : "1730000000000000003",
      "created_at" : "Tue Dec 05 18:45:00 +0000 2023",
      "full_text" : "Thread summary in English: the council answered every question about the heat network, costs and the timeline, and promised to publish the figures before the end of the month. Next meeting in December, details on the city's site. Thanks to everyone who came and ask… https://t.co/self03",
      "lang" : "fr",
      "favorite_count" : "4",
      "retweet_count" : "1",
      "truncated" : false,
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : [
          {
            "url" : "https://t.co/self03",
            "expanded_url" : "https://twitter.com/i/web/status/1730000000000000003",
            "display_url" : "twitter.com/i/web/stat",
            "indices" : [
              "0",
              "1"
            ]
          }
        ]
      }
    }
  },
  {
    "tweet" : {
      "id_str" : "1730000000000000004",
      "id" : "1730000000000000004",
      "created_at" : "Wed Dec 06 08:00:00 +0000 2023",
      "full_text" : "Bonne journée !",
      "lang" : "fr",
      "favorite_count" : "4",
      "retweet_count" : "1",
      "truncated" : false,
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      }
    }
  }
]